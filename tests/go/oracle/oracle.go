// Package oracle is what the reference oracles (tests/go/*-oracle) share: the line protocol
// with tests/it/differential.rs (one JSON case a line on stdin, one JSON answer a line on
// stdout), the environment a case sets, and the shape of one lookup's answer. Each oracle is
// its own module, pinned to its reference library; this one has no dependencies.
package oracle

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Cred is one lookup's answer: a credential, nothing, or an error.
type Cred struct {
	User   string `json:"user,omitempty"`
	Secret string `json:"secret,omitempty"`
	None   bool   `json:"none,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Answer turns what a library returned into a Cred: its error, else an identity token (as the
// user "<token>"), else nothing when both user and password are empty, else the pair.
func Answer(err error, token, user, password string) Cred {
	switch {
	case err != nil:
		return Cred{Error: OneLine(err)}
	case token != "":
		return Cred{User: "<token>", Secret: token}
	case user == "" && password == "":
		return Cred{None: true}
	default:
		return Cred{User: user, Secret: password}
	}
}

// OneLine is an error's text on one line (never empty).
func OneLine(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	if s == "" {
		s = "error"
	}
	return s
}

// SetEnv sets each of names to its value in env, and unsets the ones env does not name; every
// other variable is left as the harness started the oracle.
func SetEnv(names []string, env map[string]string) {
	for _, k := range names {
		if v, ok := env[k]; ok {
			os.Setenv(k, v)
		} else {
			os.Unsetenv(k)
		}
	}
}

// Serve answers each case on stdin with run, one JSON line each, and exits 2 with a line on
// stderr (prefixed by name) on a case it cannot read or an answer it cannot write.
func Serve[In any, Out any](name string, run func(*In) Out) {
	fail := func(what string, err error) {
		fmt.Fprintln(os.Stderr, name+":"+what, err)
		os.Exit(2)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	w := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		var c In
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			fail(" bad case:", err)
		}
		if err := enc.Encode(run(&c)); err != nil {
			fail("", err)
		}
	}
	if err := in.Err(); err != nil {
		fail("", err)
	}
	if err := w.Flush(); err != nil {
		fail("", err)
	}
}
