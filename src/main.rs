//! The `ocicred` / `docker-credential-ocicred` executable: gathers argv, the environment and the
//! standard streams, runs [`ocicred::cli::run`], and turns its answer into an exit code.

fn main() {}
