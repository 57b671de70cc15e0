// cimage-oracle answers credential and registries.conf questions with containers/image
// (go.podman.io/image/v5), the library podman, skopeo and buildah use, so that ocicred's
// differential tests (tests/it/differential.rs) can compare its answers with the reference.
//
// Input: one JSON case per line on stdin (see caseIn). Output: one JSON line per case, in the
// same order, in the shape the Rust side reads (see caseOut). Each case sets its own
// environment (HOME, XDG_*, DOCKER_CONFIG, PATH, …); the registries.conf cache is dropped
// between cases.
package main

import (
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/pkg/docker/config"
	"go.podman.io/image/v5/pkg/shortnames"
	"go.podman.io/image/v5/pkg/sysregistriesv2"
	"go.podman.io/image/v5/types"

	"ocicred.test/oracle"
)

// The variables a case may set; every other one is left as the harness started us.
var caseVars = []string{"HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
	"DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "CONTAINERS_REGISTRIES_CONF", "PATH"}

type caseIn struct {
	ID  int               `json:"id"`
	Env map[string]string `json:"env"`
	// Root stands for "/" when the library reads a system file (/etc/containers/…).
	Root    string   `json:"root"`
	Get     []string `json:"get"`
	List    bool     `json:"list"`
	Resolve []string `json:"resolve"`
}

type mirror struct {
	Location       string `json:"location"`
	Insecure       bool   `json:"insecure"`
	PullFromMirror string `json:"pull_from_mirror"`
}

type registry struct {
	Prefix             string   `json:"prefix"`
	Location           string   `json:"location"`
	Blocked            bool     `json:"blocked"`
	Insecure           bool     `json:"insecure"`
	MirrorByDigestOnly bool     `json:"mirror_by_digest_only"`
	Mirrors            []mirror `json:"mirrors"`
}

type pullSource struct {
	Location   string      `json:"location"`
	Reference  string      `json:"reference"`
	Insecure   bool        `json:"insecure"`
	Credential oracle.Cred `json:"credential"`
}

type alias struct {
	Value  *string `json:"value"`
	Origin string  `json:"origin"`
}

type resolution struct {
	Input       string       `json:"input"`
	Error       string       `json:"error,omitempty"`
	Reference   *string      `json:"reference"`
	Alias       *alias       `json:"alias"`
	Candidates  []string     `json:"candidates"`
	Registry    *registry    `json:"registry"`
	PullSources []pullSource `json:"pull_sources"`
}

type listing struct {
	Keys  map[string]oracle.Cred `json:"keys,omitempty"`
	Error string                 `json:"error,omitempty"`
}

type caseOut struct {
	ID      int           `json:"id"`
	Get     []oracle.Cred `json:"get"`
	List    *listing      `json:"list,omitempty"`
	Resolve []resolution  `json:"resolve"`
}

func fromAuth(a types.DockerAuthConfig, err error) oracle.Cred {
	return oracle.Answer(err, a.IdentityToken, a.Username, a.Password)
}

func systemContext(c *caseIn) *types.SystemContext {
	sys := &types.SystemContext{RootForImplicitAbsolutePaths: c.Root}
	// containers/common maps REGISTRY_AUTH_FILE to the explicit auth file; the library
	// itself does not read the variable.
	if f := c.Env["REGISTRY_AUTH_FILE"]; f != "" {
		sys.AuthFilePath = f
	}
	// A rootless user's machine-written alias file (the harness does not run as a user
	// whose aliases live in /var/cache).
	cache := c.Env["XDG_CACHE_HOME"]
	if cache == "" {
		cache = c.Env["HOME"] + "/.cache"
	}
	sys.UserShortNameAliasConfPath = cache + "/containers/short-name-aliases.conf"
	return sys
}

func resolve(sys *types.SystemContext, input string) resolution {
	out := resolution{Input: input, Candidates: []string{}, PullSources: []pullSource{}}
	fail := func(err error) resolution {
		return resolution{Input: input, Error: oracle.OneLine(err), Candidates: []string{}, PullSources: []pullSource{}}
	}
	parsed, err := reference.Parse(input)
	if err != nil {
		return fail(err)
	}
	named, ok := parsed.(reference.Named)
	if !ok {
		return fail(fmt.Errorf("%q is not a named reference", input))
	}
	domain := reference.Domain(named)
	short := !strings.ContainsAny(domain, ".:") && domain != "localhost"
	if short {
		value, origin, err := sysregistriesv2.ResolveShortNameAlias(sys, reference.TrimNamed(named).String())
		if err != nil {
			return fail(err)
		}
		if origin != "" {
			out.Alias = &alias{Origin: origin}
			if value != nil {
				v := value.String()
				out.Alias.Value = &v
			}
		}
		if value == nil {
			search, _, err := sysregistriesv2.UnqualifiedSearchRegistriesWithOrigin(sys)
			if err != nil {
				return fail(err)
			}
			if len(search) == 0 {
				return out // shortnames.Resolve fails: nothing to try
			}
		}
	}
	// Candidates are listed whatever the short-name mode (ocicred resolve never prompts).
	permissive := *sys
	mode := types.ShortNameModePermissive
	permissive.ShortNameMode = &mode
	resolved, err := shortnames.Resolve(&permissive, input)
	if err != nil {
		return fail(err)
	}
	if short && (out.Alias == nil || out.Alias.Value == nil) {
		for _, c := range resolved.PullCandidates {
			out.Candidates = append(out.Candidates, c.Value.String())
		}
		return out
	}
	ref := resolved.PullCandidates[0].Value
	s := ref.String()
	out.Reference = &s
	reg, err := sysregistriesv2.FindRegistry(sys, ref.Name())
	if err != nil {
		return fail(err)
	}
	var sources []sysregistriesv2.PullSource
	if reg == nil {
		sources = []sysregistriesv2.PullSource{{Endpoint: sysregistriesv2.Endpoint{Location: reference.Domain(ref)}, Reference: ref}}
	} else {
		out.Registry = &registry{Prefix: reg.Prefix, Location: reg.Location, Blocked: reg.Blocked,
			Insecure: reg.Insecure, MirrorByDigestOnly: reg.MirrorByDigestOnly, Mirrors: []mirror{}}
		for _, m := range reg.Mirrors {
			out.Registry.Mirrors = append(out.Registry.Mirrors, mirror{m.Location, m.Insecure, m.PullFromMirror})
		}
		sources, err = reg.PullSourcesFromReference(ref)
		if err != nil {
			return fail(err)
		}
	}
	for _, src := range sources {
		out.PullSources = append(out.PullSources, pullSource{
			Location:   src.Endpoint.Location,
			Reference:  src.Reference.String(),
			Insecure:   src.Endpoint.Insecure,
			Credential: fromAuth(config.GetCredentialsForRef(sys, src.Reference)),
		})
	}
	return out
}

func run(c *caseIn) caseOut {
	oracle.SetEnv(caseVars, c.Env)
	sysregistriesv2.InvalidateCache()
	sys := systemContext(c)
	out := caseOut{ID: c.ID, Get: []oracle.Cred{}, Resolve: []resolution{}}
	for _, key := range c.Get {
		out.Get = append(out.Get, fromAuth(config.GetCredentials(sys, key)))
	}
	if c.List {
		all, err := config.GetAllCredentials(sys)
		if err != nil {
			out.List = &listing{Error: oracle.OneLine(err)}
		} else {
			out.List = &listing{Keys: map[string]oracle.Cred{}}
			for k, a := range all {
				out.List.Keys[k] = fromAuth(a, nil)
			}
		}
	}
	for _, input := range c.Resolve {
		out.Resolve = append(out.Resolve, resolve(sys, input))
	}
	return out
}

func main() {
	logrus.SetLevel(logrus.PanicLevel)
	oracle.Serve("cimage-oracle", run)
}
