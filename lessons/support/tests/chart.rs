//! The charts the benches write (`--plot FILE`) are SVG a browser shows:
//! well-formed, titled, with every series named in the legend and drawn.

use support::chart::{Axis, Bars, Figure, Lines};

/// The texts of the picture, as a reader sees them.
fn texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).expect("the chart is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text") || n.has_tag_name("title"))
        .filter_map(|n| n.text())
        .map(|text| text.trim().to_owned())
        .collect()
}

fn example() -> Figure {
    Figure::new("Wait cost & idle sockets")
        .lines(
            Lines::new(
                "one wait",
                Axis::log("idle sockets"),
                Axis::log("µs per wait"),
            )
            .series("select", [(10.0, 1.0), (100.0, 3.0), (1000.0, 20.0)])
            .series("epoll", [(10.0, 0.5), (100.0, 0.5), (10_000.0, 0.6)])
            .mark(1024.0, "FD_SETSIZE 1024"),
        )
        .bars(
            Bars::new("rates", "messages/s", ["sent", "consumed"])
                .log()
                .series("select", [Some(10_000.0), None])
                .series("pika", [Some(3_000.0), Some(6.0)]),
        )
        .note("a test")
}

#[test]
fn a_figure_is_svg_with_its_title_legend_axes_and_footer() {
    let svg = example().to_svg().unwrap();
    let texts = texts(&svg);
    for wanted in [
        "Wait cost & idle sockets",
        "select",
        "epoll",
        "pika",
        "idle sockets",
        "µs per wait",
        "FD_SETSIZE 1024",
        "sent",
        "consumed",
        "n/a",
    ] {
        assert!(
            texts.iter().any(|t| t == wanted),
            "{wanted:?} is not in the picture: {texts:?}"
        );
    }
    // Decade ticks on the log axes.
    assert!(texts.iter().any(|t| t == "1000"), "{texts:?}");
    // Where and when: the footer.
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("a test · ") && t.contains("cores") && t.ends_with("UTC")),
        "{texts:?}"
    );
    // Every measured bar is drawn with a height, the smallest too, on a
    // log axis as on a linear one; "n/a" draws none.
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let heights: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .filter_map(|n| n.attribute("height")?.parse().ok())
        .collect();
    // The card, the backdrop, three legend swatches, three bars.
    assert_eq!(heights.len(), 8, "{heights:?}");
    assert!(heights.iter().all(|&h| h >= 1.0), "{heights:?}");
    // Each series in the legend once, however many panels it is in.
    assert_eq!(texts.iter().filter(|t| *t == "select").count(), 1);
}

#[test]
fn a_figure_is_written_to_its_file_or_says_where_it_could_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chart.svg");
    example().write(&path).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    texts(&written);
    if let Ok(keep) = std::env::var("CHART_EXAMPLE") {
        std::fs::write(keep, &written).unwrap();
    }

    let error = example()
        .write(&dir.path().join("no/such/dir/chart.svg"))
        .unwrap_err();
    assert!(
        error.to_string().contains("no/such/dir/chart.svg"),
        "{error}"
    );
}
