module ocicred.test/docker-oracle

go 1.24

require (
	github.com/docker/cli v29.9.3+incompatible
	github.com/sirupsen/logrus v1.10.2
)

require (
	github.com/docker/docker-credential-helpers v0.9.13 // indirect
	golang.org/x/sys v0.20.0 // indirect
	gotest.tools/v3 v3.5.2 // indirect
	ocicred.test/oracle v0.0.0
)

replace ocicred.test/oracle => ../oracle
