module ocicred.test/oracle

go 1.24
