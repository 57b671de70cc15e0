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
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/sirupsen/logrus"
)

var caseVars = []string{"HOME", "DOCKER_CONFIG", "DOCKER_AUTH_CONFIG", "PATH"}

type caseIn struct {
	ID   int               `json:"id"`
	Env  map[string]string `json:"env"`
	Get  []string          `json:"get"`
	List bool              `json:"list"`
}

type cred struct {
	User   string `json:"user,omitempty"`
	Secret string `json:"secret,omitempty"`
	None   bool   `json:"none,omitempty"`
	Error  string `json:"error,omitempty"`
}

type listing struct {
	Keys  map[string]cred `json:"keys"`
	Error string          `json:"error,omitempty"`
}

type caseOut struct {
	ID   int      `json:"id"`
	Get  []cred   `json:"get"`
	List *listing `json:"list,omitempty"`
}

func fromAuth(a types.AuthConfig, err error) cred {
	switch {
	case err != nil:
		return cred{Error: oneLine(err)}
	case a.IdentityToken != "":
		return cred{User: "<token>", Secret: a.IdentityToken}
	case a.Username == "" && a.Password == "":
		return cred{None: true}
	default:
		return cred{User: a.Username, Secret: a.Password}
	}
}

func oneLine(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	if s == "" {
		s = "error"
	}
	return s
}

func run(c *caseIn) caseOut {
	for _, k := range caseVars {
		if v, ok := c.Env[k]; ok {
			os.Setenv(k, v)
		} else {
			os.Unsetenv(k)
		}
	}
	dir := c.Env["DOCKER_CONFIG"]
	if dir == "" {
		dir = filepath.Join(c.Env["HOME"], ".docker")
	}
	out := caseOut{ID: c.ID, Get: []cred{}}
	file, err := config.Load(dir)
	for _, q := range c.Get {
		if err != nil {
			out.Get = append(out.Get, cred{Error: oneLine(err)})
			continue
		}
		out.Get = append(out.Get, fromAuth(file.GetAuthConfig(q)))
	}
	if c.List {
		out.List = &listing{Keys: map[string]cred{}}
		if err != nil {
			out.List.Error = oneLine(err)
		} else if all, err := file.GetAllCredentials(); err != nil {
			out.List.Error = oneLine(err)
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
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	w := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		var c caseIn
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			fmt.Fprintln(os.Stderr, "docker-oracle: bad case:", err)
			os.Exit(2)
		}
		if err := enc.Encode(run(&c)); err != nil {
			fmt.Fprintln(os.Stderr, "docker-oracle:", err)
			os.Exit(2)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "docker-oracle:", err)
		os.Exit(2)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "docker-oracle:", err)
		os.Exit(2)
	}
}
