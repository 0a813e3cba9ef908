//! Draws the book's diagrams: every `docs/diagrams/NN-name.bob` becomes
//! `docs/src/images/NN-name.svg`. Run it with `just diagrams` after editing a
//! source, and commit both; `cargo test -p book` fails while they differ.

use std::fs;
use std::process::ExitCode;

fn main() -> ExitCode {
    support::exit(run())
}

fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let diagrams = book::load_sources()?;
    let dir = book::images_dir();
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (mut written, mut unchanged) = (0, 0);
    for diagram in &diagrams {
        let path = book::svg_path(diagram);
        let svg = book::render(diagram);
        // Only rewrite what changed, so file times (and mdbook serve) stay calm.
        if fs::read_to_string(&path).is_ok_and(|old| old == svg) {
            unchanged += 1;
            continue;
        }
        fs::write(&path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("drew {}", path.display());
        written += 1;
    }
    println!(
        "{} diagrams: {written} drawn, {unchanged} unchanged",
        diagrams.len()
    );
    Ok(())
}
