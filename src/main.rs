//! The `ocicred` / `docker-credential-ocicred` executable: gathers argv, the environment and the
//! standard streams, runs [`ocicred::cli::run`], and turns its answer into an exit code.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    ocicred::secret::protect_process();
    let env = ocicred::env::Env::from_process();
    let args: Vec<_> = std::env::args_os().collect();
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    let code = ocicred::cli::run(
        &env,
        args,
        ocicred::cli::Io {
            stdin: &mut stdin,
            stdout: &mut stdout,
            stderr: &mut stderr,
        },
    );
    let _ = stdout.flush();
    ExitCode::from(code.clamp(0, 255) as u8)
}
