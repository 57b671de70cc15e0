// docker-oracle answers credential questions with the docker CLI's own config package
// (github.com/docker/cli/cli/config), so that ocicred's differential tests
// (tests/it/differential.rs) can compare its answers with docker's.
//
// Input: one JSON case per line on stdin; output: one JSON line per case, in order (the
// same shapes as tests/go/cimage-oracle). A case loads $DOCKER_CONFIG/config.json, else
// ~/.docker/config.json, and asks GetAuthConfig for each server address and, when asked,
// GetAllCredentials. Helpers run as docker runs them: docker-credential-<name> from PATH.
package main

import (
	"path/filepath"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/sirupsen/logrus"

	"ocicred.test/oracle"
)

var caseVars = []string{"HOME", "DOCKER_CONFIG", "DOCKER_AUTH_CONFIG", "PATH"}

type caseIn struct {
	ID   int               `json:"id"`
	Env  map[string]string `json:"env"`
	Get  []string          `json:"get"`
	List bool              `json:"list"`
}

type listing struct {
	Keys  map[string]oracle.Cred `json:"keys"`
	Error string                 `json:"error,omitempty"`
}

type caseOut struct {
	ID   int           `json:"id"`
	Get  []oracle.Cred `json:"get"`
	List *listing      `json:"list,omitempty"`
}

func fromAuth(a types.AuthConfig, err error) oracle.Cred {
	return oracle.Answer(err, a.IdentityToken, a.Username, a.Password)
}

func run(c *caseIn) caseOut {
	oracle.SetEnv(caseVars, c.Env)
	dir := c.Env["DOCKER_CONFIG"]
	if dir == "" {
		dir = filepath.Join(c.Env["HOME"], ".docker")
	}
	out := caseOut{ID: c.ID, Get: []oracle.Cred{}}
	file, err := config.Load(dir)
	for _, q := range c.Get {
		if err != nil {
			out.Get = append(out.Get, oracle.Cred{Error: oracle.OneLine(err)})
			continue
		}
		out.Get = append(out.Get, fromAuth(file.GetAuthConfig(q)))
	}
	if c.List {
		out.List = &listing{Keys: map[string]oracle.Cred{}}
		if err != nil {
			out.List.Error = oracle.OneLine(err)
		} else if all, err := file.GetAllCredentials(); err != nil {
			out.List.Error = oracle.OneLine(err)
		} else {
			for k, a := range all {
				out.List.Keys[k] = fromAuth(a, nil)
			}
		}
	}
	return out
}

func main() {
	logrus.SetLevel(logrus.PanicLevel)
	oracle.Serve("docker-oracle", run)
}
