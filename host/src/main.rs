//! The `moshead` binary: see `moshead --help`.

fn main() -> std::process::ExitCode {
    moshead::cli::main()
}
