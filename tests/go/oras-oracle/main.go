// oras-oracle answers credential questions with oras-go's credential store
// (oras.land/oras-go/v2/registry/remote/credentials), what ORAS and Helm do with a docker
// config, so that ocicred's differential tests (tests/it/differential.rs) can compare.
//
// Input: one JSON case per line on stdin; output: one JSON line per case, in order (the
// same shapes as tests/go/cimage-oracle). A case builds NewStoreFromDocker (no default
// native store detection, as Helm and ORAS read an existing config) and asks Get for each
// server address.
package main

import (
	"context"

	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"ocicred.test/oracle"
)

var caseVars = []string{"HOME", "DOCKER_CONFIG", "PATH"}

type caseIn struct {
	ID  int               `json:"id"`
	Env map[string]string `json:"env"`
	Get []string          `json:"get"`
}

type caseOut struct {
	ID  int           `json:"id"`
	Get []oracle.Cred `json:"get"`
}

func fromCred(c auth.Credential, err error) oracle.Cred {
	return oracle.Answer(err, c.RefreshToken, c.Username, c.Password)
}

func run(c *caseIn) caseOut {
	oracle.SetEnv(caseVars, c.Env)
	out := caseOut{ID: c.ID, Get: []oracle.Cred{}}
	store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
	for _, q := range c.Get {
		if err != nil {
			out.Get = append(out.Get, oracle.Cred{Error: oracle.OneLine(err)})
			continue
		}
		out.Get = append(out.Get, fromCred(store.Get(context.Background(), q)))
	}
	return out
}

func main() {
	oracle.Serve("oras-oracle", run)
}
