//! Tools that keep the book true: its diagrams are drawn from text, and
//! the benchmarks' charts are checked (`check-chart`).
//!
//! Every picture in the book starts as ASCII art in `docs/diagrams/NN-name.bob`,
//! plain text that a reviewer reads in a diff. Its first line is the picture's
//! alt text:
//!
//! ```text
//! alt: A producer P sends to the queue hello; a consumer C receives.
//! +---+     .-------.     +---+
//! | P |---->| hello |---->| C |
//! +---+     '-------'     +---+
//! ```
//!
//! `just diagrams` (this crate's `diagrams` binary) turns each source into
//! `docs/src/images/NN-name.svg` with [svgbob], and the tests of this crate
//! fail when a committed picture differs from what its source draws, when a
//! chapter points at an image that is missing, broken or without alt text, or
//! when an image is in the tree but no chapter shows it.
//!
//! The pictures are self-contained SVG (no fonts or scripts fetched), drawn
//! black on a white rounded card: that card keeps them readable in the book's
//! dark themes too, where black lines on the page's dark background would
//! vanish.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// The recipe that redraws every picture; failures name it.
pub const REDRAW: &str = "just diagrams";

/// One diagram source: its name (the file stem, e.g. `13-routing`), its alt
/// text and its ASCII art.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagram {
    pub name: String,
    pub alt: String,
    pub art: String,
}

/// What went wrong while reading sources or checking pictures: says which
/// file and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The repository's `docs/` directory (this crate lives in `lessons/book`).
pub fn docs_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    // Shorter paths in messages ("/repo/docs/..." rather than "lessons/book/../../docs").
    fs::canonicalize(&dir).unwrap_or(dir)
}

/// Where the ASCII sources live.
pub fn sources_dir() -> PathBuf {
    docs_dir().join("diagrams")
}

/// Where the drawn pictures go, inside the book's sources so that mdbook
/// copies them as they are.
pub fn images_dir() -> PathBuf {
    docs_dir().join("src/images")
}

/// Reads one source: the `alt:` line, then the art.
pub fn parse_source(name: &str, text: &str) -> Result<Diagram, Error> {
    let (first, art) = text.split_once('\n').unwrap_or((text, ""));
    let alt = first
        .strip_prefix("alt:")
        .map(str::trim)
        .filter(|alt| !alt.is_empty())
        .ok_or_else(|| {
            Error(format!(
                "{name}.bob: the first line must be `alt: <what the picture shows, in words>`"
            ))
        })?;
    if art.trim().is_empty() {
        return Err(Error(format!("{name}.bob: no drawing after the alt line")));
    }
    Ok(Diagram {
        name: name.to_owned(),
        alt: alt.to_owned(),
        art: art.trim_end().to_owned(),
    })
}

/// Every source in `docs/diagrams`, sorted by name.
pub fn load_sources() -> Result<Vec<Diagram>, Error> {
    let dir = sources_dir();
    let entries =
        fs::read_dir(&dir).map_err(|e| Error(format!("cannot list {}: {e}", dir.display())))?;
    let mut diagrams = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Error(format!("cannot list {}: {e}", dir.display())))?
            .path();
        if path.extension().is_none_or(|ext| ext != "bob") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .ok_or_else(|| Error(format!("{}: not a UTF-8 file name", path.display())))?;
        let text = fs::read_to_string(&path)
            .map_err(|e| Error(format!("cannot read {}: {e}", path.display())))?;
        diagrams.push(parse_source(name, &text)?);
    }
    diagrams.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(diagrams)
}

/// The SVG file a diagram is drawn into.
pub fn svg_path(diagram: &Diagram) -> PathBuf {
    images_dir().join(format!("{}.svg", diagram.name))
}

/// Draws one diagram: svgbob's SVG, made accessible (role, title) and given a
/// rounded white card with a thin border and a margin around the art.
pub fn render(diagram: &Diagram) -> String {
    // A margin of one row and two columns, so lines never touch the card's edge.
    let mut padded = String::from("\n");
    for line in diagram.art.lines() {
        padded.push_str("  ");
        padded.push_str(line);
        padded.push('\n');
    }
    padded.push('\n');

    let settings = svgbob::Settings {
        // Monospace fonts every reader has. svgbob's grid is 8 px a column;
        // these fonts' letters are 0.6 em wide, so 13.3 px (set below, as
        // svgbob takes whole pixels) keeps a long label or an axis of numbers
        // on its columns instead of drifting right.
        font_family: "DejaVu Sans Mono, Menlo, Consolas, monospace".into(),
        font_size: 13,
        ..svgbob::Settings::default()
    };
    // svgbob sizes its picture by the lines it draws and leaves quoted text
    // out, so a label at the right edge would be cut off: size the picture by
    // the text grid instead (8 by 16 px a cell, one spare column and row).
    let columns = padded
        .lines()
        .map(|line| line.chars().count())
        .max()
        .unwrap_or(0);
    let rows = padded.lines().count();
    let width = (columns + 1) as f32 * 8.0;
    let height = (rows + 1) as f32 * 16.0;
    let svg = svgbob::to_svg_with_override_size(&padded, &settings, width, height).replacen(
        "font-size: 13px;",
        "font-size: 13.3px;",
        1,
    );
    accessible(&svg, &diagram.alt)
}

/// Adds `role="img"`, a `<title>` (what screen readers and tooltips say) and
/// the card's rounded border to svgbob's output.
fn accessible(svg: &str, alt: &str) -> String {
    let open_end = svg.find('>').expect("svgbob output starts with <svg ...>");
    let open = &svg[..open_end];
    let size = |attr: &str| -> f32 {
        let key = format!(" {attr}=\"");
        let start = open.find(&key).expect("svgbob writes width and height") + key.len();
        let len = open[start..].find('"').expect("a quoted attribute");
        open[start..start + len]
            .parse()
            .expect("svgbob writes numeric sizes")
    };
    let (width, height) = (size("width"), size("height"));
    let mut out = String::with_capacity(svg.len() + 512);
    out.push_str(open);
    out.push_str(&format!(
        " viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"title\">\n  <title id=\"title\">{}</title>",
        escape(alt)
    ));
    let rest = &svg[open_end + 1..];
    let backdrop = format!(
        "<rect class=\"backdrop\" x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\"></rect>"
    );
    let card = format!(
        "<rect class=\"backdrop\" x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\" rx=\"10\" style=\"stroke: #c8ccd0; stroke-width: 1\"></rect>",
        width - 1.0,
        height - 1.0
    );
    assert!(
        rest.contains(&backdrop),
        "svgbob's backdrop changed shape: update accessible()"
    );
    out.push_str(&rest.replacen(&backdrop, &card, 1));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Escapes text for an XML element's content.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Checks that `text` is a well-formed SVG document, as a browser's XML
/// parser would (a browser shows nothing at all for a broken one).
pub fn check_svg(text: &str) -> Result<(), String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not well-formed XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "svg" {
        return Err(format!(
            "the root element is <{}>, not <svg>",
            root.tag_name().name()
        ));
    }
    Ok(())
}

/// Checks that `text` is an SVG picture (as [`check_svg`]) whose texts
/// include each of `series`: what `course bench --smoke` asks of every
/// benchmark's chart, whose legend names its series.
pub fn check_chart(text: &str, series: &[&str]) -> Result<(), String> {
    check_svg(text)?;
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not well-formed XML: {e}"))?;
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|node| node.has_tag_name("text"))
        .filter_map(|node| node.text())
        .map(str::trim)
        .collect();
    let missing: Vec<&str> = series
        .iter()
        .copied()
        .filter(|name| !texts.contains(name))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("the chart does not show {missing:?}"))
    }
}

/// Checks that `bytes` is a PNG whose header a decoder would accept: the
/// signature, then an IHDR chunk with a non-zero size.
pub fn check_png(bytes: &[u8]) -> Result<(), String> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) {
        return Err("no PNG signature".into());
    }
    let ihdr = bytes.get(8..24).ok_or("cut short before its IHDR chunk")?;
    if &ihdr[4..8] != b"IHDR" {
        return Err("the first chunk is not IHDR".into());
    }
    let width = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
    let height = u32::from_be_bytes([ihdr[12], ihdr[13], ihdr[14], ihdr[15]]);
    if width == 0 || height == 0 {
        return Err(format!("a {width}x{height} picture"));
    }
    Ok(())
}

/// One image a chapter shows: which chapter, the path as written, and the alt
/// text (empty when missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub chapter: PathBuf,
    pub src: String,
    pub alt: String,
}

impl ImageRef {
    /// The file the reference points at, resolved from the chapter's folder.
    pub fn target(&self) -> PathBuf {
        self.chapter
            .parent()
            .unwrap_or(Path::new(""))
            .join(&self.src)
    }
}

/// Finds the images a Markdown page shows, both as `![alt](src)` and as
/// `<img src="..." alt="...">`. External URLs are returned too, so the
/// caller can refuse them (the book must render offline).
pub fn image_refs(chapter: &Path, markdown: &str) -> Vec<ImageRef> {
    let mut refs = Vec::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Prose may name the syntax in inline code (`<img src=...>`): that
        // is not an image.
        let line = &without_inline_code(line);
        // Markdown images: ![alt](src "title")
        let mut rest = line.as_str();
        while let Some(start) = rest.find("![") {
            let after = &rest[start + 2..];
            let Some(close) = after.find("](") else { break };
            let alt = &after[..close];
            let target = &after[close + 2..];
            let Some(end) = target.find(')') else { break };
            let src = target[..end].split_whitespace().next().unwrap_or("");
            refs.push(ImageRef {
                chapter: chapter.to_owned(),
                src: src.to_owned(),
                alt: alt.trim().to_owned(),
            });
            rest = &target[end + 1..];
        }
        // HTML images: <img src="..." alt="...">
        let mut rest = line.as_str();
        while let Some(start) = rest.find("<img") {
            let tag_and_more = &rest[start..];
            let end = tag_and_more.find('>').unwrap_or(tag_and_more.len());
            let tag = &tag_and_more[..end];
            refs.push(ImageRef {
                chapter: chapter.to_owned(),
                src: attribute(tag, "src").unwrap_or_default(),
                alt: attribute(tag, "alt").unwrap_or_default().trim().to_owned(),
            });
            rest = &tag_and_more[end..];
        }
    }
    refs
}

/// A line with its `inline code` spans blanked out.
fn without_inline_code(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for (i, part) in line.split('`').enumerate() {
        // Odd parts sit between a pair of backticks.
        if i % 2 == 0 {
            out.push_str(part);
        } else {
            out.push(' ');
        }
    }
    out
}

/// The value of `name="..."` in an HTML tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_owned())
}

/// Every Markdown page under `dir`, recursively, sorted.
pub fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_needs_its_alt_line_first() {
        let err = parse_source("x", "+--+\n|  |\n+--+\n").unwrap_err();
        assert!(err.0.contains("alt:"), "{err}");
        let err = parse_source("x", "alt:   \n+--+\n").unwrap_err();
        assert!(err.0.contains("alt:"), "{err}");
        let err = parse_source("x", "alt: a box\n\n").unwrap_err();
        assert!(err.0.contains("no drawing"), "{err}");
        let ok = parse_source("x", "alt: a box\n+--+\n+--+\n").unwrap();
        assert_eq!(ok.alt, "a box");
    }

    #[test]
    fn a_drawing_is_well_formed_svg_with_its_alt_as_title() {
        let diagram = parse_source("x", "alt: P & Q <sent>\n+---+\n| P |--->\n+---+\n").unwrap();
        let svg = render(&diagram);
        check_svg(&svg).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("role"), Some("img"));
        let title = root
            .children()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text());
        assert_eq!(title, Some("P & Q <sent>"));
        assert!(svg.contains("rx=\"10\""), "the card is rounded");
    }

    #[test]
    fn broken_pictures_are_refused() {
        assert!(check_svg("<svg><g></svg>").is_err());
        assert!(check_svg("<html></html>").is_err());
        assert!(check_png(b"GIF89a").is_err());
        assert!(check_png(b"\x89PNG\r\n\x1a\n").is_err());
    }

    #[test]
    fn a_chart_must_parse_and_name_its_series() {
        let good = r#"<svg xmlns="http://www.w3.org/2000/svg"><text> select </text><text>epoll</text></svg>"#;
        assert_eq!(check_chart(good, &["select", "epoll"]), Ok(()));
        let error = check_chart(good, &["select", "poll"]).unwrap_err();
        assert!(error.contains("\"poll\""), "{error}");
        assert!(check_chart("<svg><text>select</svg>", &[]).is_err());
        assert!(check_chart("<html/>", &[]).unwrap_err().contains("<html>"));
    }

    #[test]
    fn image_references_are_found_outside_code_blocks() {
        let md = "text ![a pipe](../images/a.svg \"t\") and <img src=\"../images/b.svg\" alt=\"b\">\n\
                  ```text\n![not this](x.svg)\n```\n<img src=\"c.svg\">\n\
                  Write `![alt](path)` or `<img src=\"p\" alt=\"a\">` for a picture.\n";
        let refs = image_refs(Path::new("docs/src/redis/23.md"), md);
        let got: Vec<_> = refs
            .iter()
            .map(|r| (r.src.as_str(), r.alt.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("../images/a.svg", "a pipe"),
                ("../images/b.svg", "b"),
                ("c.svg", "")
            ]
        );
        assert_eq!(
            refs[0].target(),
            Path::new("docs/src/redis/../images/a.svg")
        );
    }
}
