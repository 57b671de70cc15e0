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
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
)

var caseVars = []string{"HOME", "DOCKER_CONFIG", "PATH"}

type caseIn struct {
	ID  int               `json:"id"`
	Env map[string]string `json:"env"`
	Get []string          `json:"get"`
}

type cred struct {
	User   string `json:"user,omitempty"`
	Secret string `json:"secret,omitempty"`
	None   bool   `json:"none,omitempty"`
	Error  string `json:"error,omitempty"`
}

type caseOut struct {
	ID  int    `json:"id"`
	Get []cred `json:"get"`
}

func fromCred(c auth.Credential, err error) cred {
	switch {
	case err != nil:
		return cred{Error: oneLine(err)}
	case c.RefreshToken != "":
		return cred{User: "<token>", Secret: c.RefreshToken}
	case c.Username == "" && c.Password == "":
		return cred{None: true}
	default:
		return cred{User: c.Username, Secret: c.Password}
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
	out := caseOut{ID: c.ID, Get: []cred{}}
	store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{})
	for _, q := range c.Get {
		if err != nil {
			out.Get = append(out.Get, cred{Error: oneLine(err)})
			continue
		}
		out.Get = append(out.Get, fromCred(store.Get(context.Background(), q)))
	}
	return out
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	w := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		var c caseIn
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			fmt.Fprintln(os.Stderr, "oras-oracle: bad case:", err)
			os.Exit(2)
		}
		if err := enc.Encode(run(&c)); err != nil {
			fmt.Fprintln(os.Stderr, "oras-oracle:", err)
			os.Exit(2)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "oras-oracle:", err)
		os.Exit(2)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "oras-oracle:", err)
		os.Exit(2)
	}
}
