//! Command-line handling shared by the chapters that draw one picture: `--write-docs` (the
//! picture goes to docs/img/NAME) or `--svg PATH`; without either, nothing is written.

use std::path::PathBuf;

/// Where to write the chapter's picture, if anywhere.
pub fn svg_output(name: &str) -> Result<Option<PathBuf>, Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let mut out = None;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--write-docs") => {
                out = Some(
                    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                        .join("docs/img")
                        .join(name),
                )
            }
            Some("--svg") => out = Some(PathBuf::from(args.next().ok_or("--svg needs a path")?)),
            _ => {
                return Err(format!(
                    "unknown argument {arg:?} (expected --write-docs or --svg PATH)"
                )
                .into())
            }
        }
    }
    Ok(out)
}
