//! The book's pictures stay true: each drawn diagram matches its text source,
//! every image a chapter shows exists, parses and has alt text, and no image
//! lies in the tree unseen. Runs in `just test`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Canonical path, so `redis/../images/x.svg` and `images/x.svg` compare equal.
fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

#[test]
fn every_drawn_diagram_matches_its_source() {
    let diagrams = book::load_sources().expect("the diagram sources load");
    assert!(!diagrams.is_empty(), "no sources in docs/diagrams");
    let mut stale = Vec::new();
    for diagram in &diagrams {
        let path = book::svg_path(diagram);
        match fs::read_to_string(&path) {
            Ok(committed) if committed == book::render(diagram) => {}
            Ok(_) => stale.push(format!(
                "{} differs from {}.bob",
                path.display(),
                diagram.name
            )),
            Err(e) => stale.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        stale.is_empty(),
        "pictures out of date with their sources; run `{}` and commit the result:\n  {}",
        book::REDRAW,
        stale.join("\n  ")
    );
}

#[test]
fn every_image_the_book_shows_exists_parses_and_has_alt_text() {
    let src = book::docs_dir().join("src");
    let mut problems = Vec::new();
    let mut count = 0;
    for chapter in book::markdown_files(&src) {
        let markdown = fs::read_to_string(&chapter).expect("a chapter reads");
        for image in book::image_refs(&chapter, &markdown) {
            count += 1;
            let at = format!("{}: {}", chapter.display(), image.src);
            if image.alt.is_empty() {
                problems.push(format!("{at}: no alt text (say in words what it shows)"));
            }
            if image.src.contains("://") || image.src.starts_with("//") {
                problems.push(format!(
                    "{at}: not a file in the book (it must render offline)"
                ));
                continue;
            }
            let target = image.target();
            let checked = match target.extension().and_then(|e| e.to_str()) {
                Some("svg") => fs::read_to_string(&target)
                    .map_err(|e| e.to_string())
                    .and_then(|text| book::check_svg(&text)),
                Some("png") => fs::read(&target)
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| book::check_png(&bytes)),
                _ => Err("neither .svg nor .png".to_owned()),
            };
            if let Err(e) = checked {
                problems.push(format!("{at}: {e}"));
            }
        }
    }
    assert!(count > 0, "no chapter shows an image");
    assert!(
        problems.is_empty(),
        "broken images:\n  {}",
        problems.join("\n  ")
    );
}

/// Every image some chapter under `src` shows, as canonical paths.
fn shown_images(src: &Path) -> BTreeSet<PathBuf> {
    book::markdown_files(src)
        .iter()
        .flat_map(|chapter| {
            let markdown = fs::read_to_string(chapter).expect("a chapter reads");
            book::image_refs(chapter, &markdown)
        })
        .map(|image| canonical(&image.target()))
        .collect()
}

#[test]
fn every_image_in_the_tree_is_shown_somewhere() {
    let src = book::docs_dir().join("src");
    let shown = shown_images(&src);
    let mut unseen = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)
            .expect("the book's folders list")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["svg", "png", "jpg", "jpeg", "gif", "webp"].contains(&e))
                && !shown.contains(&canonical(&path))
            {
                unseen.push(path.display().to_string());
            }
        }
    }
    unseen.sort();
    assert!(
        unseen.is_empty(),
        "images no chapter shows (show them or delete them, and their .bob source):\n  {}",
        unseen.join("\n  ")
    );
}

#[test]
fn every_source_is_drawn_into_a_picture_the_book_shows() {
    // A .bob whose picture no chapter shows would be drawn for nobody.
    let diagrams = book::load_sources().expect("the diagram sources load");
    let src = book::docs_dir().join("src");
    let shown = shown_images(&src);
    let unseen: Vec<_> = diagrams
        .iter()
        .filter(|d| !shown.contains(&canonical(&book::svg_path(d))))
        .map(|d| format!("{}.bob", d.name))
        .collect();
    assert!(
        unseen.is_empty(),
        "sources whose picture no chapter shows: {unseen:?}"
    );
}

#[test]
fn a_diagram_is_shown_with_the_alt_text_of_its_source() {
    // The alt text is written once, in the .bob source (it is also the SVG's
    // <title>); a chapter showing the picture says the same, so what a
    // screen reader hears cannot drift from what the picture shows.
    let diagrams = book::load_sources().expect("the diagram sources load");
    let src = book::docs_dir().join("src");
    let mut wrong = Vec::new();
    for chapter in book::markdown_files(&src) {
        let markdown = fs::read_to_string(&chapter).expect("a chapter reads");
        for image in book::image_refs(&chapter, &markdown) {
            let target = canonical(&image.target());
            if let Some(diagram) = diagrams
                .iter()
                .find(|d| canonical(&book::svg_path(d)) == target)
                && image.alt != diagram.alt
            {
                wrong.push(format!(
                    "{}: {} is shown with alt text other than the first line of {}.bob",
                    chapter.display(),
                    image.src,
                    diagram.name
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
