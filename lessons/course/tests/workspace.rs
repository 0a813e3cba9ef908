//! The workspace agrees with itself: the course map with the lesson folders,
//! the book with the code it includes, docker-compose.yml with the addresses
//! the lessons use by default.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use course::{BENCHES, LESSONS, workspace_root};

/// Every lesson folder that exists is on the map, with exactly the programs
/// the map names, and is a member of the workspace.
#[test]
fn lesson_folders_match_the_course_map() {
    let root = workspace_root();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for lesson in LESSONS.iter().filter(|l| l.is_written(&root)) {
        let dir = lesson.path(&root);
        let bins: BTreeSet<String> = fs::read_dir(dir.join("src/bin"))
            .unwrap_or_else(|e| panic!("{}: no src/bin: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
            .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        let expected: BTreeSet<String> = lesson.bins.iter().map(|b| b.to_string()).collect();
        assert_eq!(bins, expected, "programs of lesson {:02}", lesson.number);

        let package = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            package.contains(&format!("name = \"{}\"", lesson.package())),
            "lesson {:02}'s package must be named {}",
            lesson.number,
            lesson.package()
        );
        assert!(
            manifest.contains(&format!("\"lessons/{}\"", lesson.dir)),
            "lessons/{} is not in the workspace members",
            lesson.dir
        );
        assert!(
            dir.join("tests").is_dir(),
            "lesson {:02} has no tests/",
            lesson.number
        );
    }
}

/// Cargo writes every binary to `target/<profile>/<name>`: two lessons with
/// the same binary name would overwrite each other, and a test could run the
/// other lesson's program. So binary target names are unique workspace-wide.
#[test]
fn binary_names_are_unique_across_the_workspace() {
    let root = workspace_root();
    let mut seen = std::collections::BTreeMap::new();
    for lesson in LESSONS.iter().filter(|l| l.is_written(&root)) {
        for program in lesson.bins {
            let target = lesson.bin_target(&root, program);
            if let Some(other) = seen.insert(target.clone(), lesson.number) {
                panic!(
                    "lessons {other:02} and {:02} both build a binary named `{target}`: \
                     give one a [[bin]] name like lesson-{:02}-{program}",
                    lesson.number, lesson.number
                );
            }
        }
    }
}

/// The root manifest lists its members sorted, so a new lesson has one
/// obvious place to go.
#[test]
fn workspace_members_are_sorted() {
    let manifest = fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let members: Vec<&str> = manifest
        .lines()
        .skip_while(|line| !line.starts_with("members"))
        .skip(1)
        .take_while(|line| !line.starts_with(']'))
        .map(str::trim)
        .collect();
    let mut sorted = members.clone();
    sorted.sort();
    assert_eq!(members, sorted);
}

/// One `{{#include ...}}` found in the book.
struct Include {
    page: PathBuf,
    target: PathBuf,
    anchor: Option<String>,
}

fn markdown_pages(dir: &Path, pages: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_pages(&path, pages);
        } else if path.extension().is_some_and(|ext| ext == "md") {
            pages.push(path);
        }
    }
}

fn book_pages() -> Vec<PathBuf> {
    let mut pages = Vec::new();
    markdown_pages(&workspace_root().join("docs/src"), &mut pages);
    pages.sort();
    pages
}

fn includes(page: &Path) -> Vec<Include> {
    let text = fs::read_to_string(page).unwrap();
    let mut found = Vec::new();
    for directive in ["{{#include ", "{{#rustdoc_include "] {
        for (start, _) in text.match_indices(directive) {
            let rest = &text[start + directive.len()..];
            let spec = rest[..rest.find("}}").expect("unclosed include")].trim();
            let (path, anchor) = match spec.split_once(':') {
                Some((path, anchor)) => (path, Some(anchor.to_string())),
                None => (spec, None),
            };
            found.push(Include {
                page: page.to_path_buf(),
                target: page.parent().unwrap().join(path),
                anchor,
            });
        }
    }
    found
}

/// A chapter that names a missing file or anchor would silently show nothing
/// (mdbook only warns), so this fails instead.
#[test]
fn every_book_include_names_an_existing_file_and_anchor() {
    let mut count = 0;
    for page in book_pages() {
        for include in includes(&page) {
            count += 1;
            let where_ = format!(
                "{} includes {}",
                include.page.display(),
                include.target.display()
            );
            let code =
                fs::read_to_string(&include.target).unwrap_or_else(|e| panic!("{where_}: {e}"));
            let Some(anchor) = include.anchor else {
                continue;
            };
            // Line ranges (`:10:20`) are allowed; names must be anchors.
            if anchor
                .split(':')
                .all(|part| part.chars().all(|c| c.is_ascii_digit()))
            {
                continue;
            }
            assert!(
                code.contains(&format!("ANCHOR: {anchor}\n")),
                "{where_}: no `ANCHOR: {anchor}`"
            );
            assert!(
                code.contains(&format!("ANCHOR_END: {anchor}\n")),
                "{where_}: no `ANCHOR_END: {anchor}`"
            );
        }
    }
    assert!(count > 0, "the book includes no code at all");
}

/// Book pages never contain pasted Rust: every ```rust block is made of
/// include directives, so the code shown is the code tested.
#[test]
fn rust_in_the_book_is_only_ever_included() {
    for page in book_pages() {
        let text = fs::read_to_string(&page).unwrap();
        let mut in_rust = false;
        for (number, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.starts_with("```") {
                in_rust = !in_rust && trimmed.trim_start_matches('`').starts_with("rust");
                continue;
            }
            if in_rust && !trimmed.is_empty() {
                assert!(
                    trimmed.starts_with("{{#include") || trimmed.starts_with("{{#rustdoc_include"),
                    "{}:{}: Rust pasted into the book instead of included: {line}",
                    page.display(),
                    number + 1
                );
            }
        }
    }
}

/// Every written lesson has a chapter that includes its code.
#[test]
fn every_written_lesson_has_a_chapter_with_its_code() {
    let root = workspace_root();
    let all: Vec<Include> = book_pages().iter().flat_map(|p| includes(p)).collect();
    for lesson in LESSONS.iter().filter(|l| l.is_written(&root)) {
        let dir = lesson.path(&root).canonicalize().unwrap();
        assert!(
            all.iter().any(|include| include
                .target
                .canonicalize()
                .is_ok_and(|target| target.starts_with(&dir))),
            "no chapter includes code from lessons/{}",
            lesson.dir
        );
    }
}

/// `just up` with Docker must put the brokers where the lessons look by
/// default: the host ports in docker-compose.yml are the defaults' ports.
#[test]
fn docker_compose_publishes_the_default_ports() {
    let compose = fs::read_to_string(workspace_root().join("docker-compose.yml")).unwrap();
    let published = |service: &str| -> Vec<String> {
        let mut lines = compose
            .lines()
            .skip_while(|line| line.trim_end() != format!("  {service}:"))
            .skip(1)
            .take_while(|line| line.starts_with("    ") || line.trim().is_empty());
        let mut ports = Vec::new();
        let mut in_ports = false;
        for line in lines.by_ref() {
            let trimmed = line.trim();
            if trimmed == "ports:" {
                in_ports = true;
            } else if in_ports && trimmed.starts_with("- ") {
                ports.push(trimmed[2..].trim_matches('"').to_string());
            } else if !trimmed.is_empty() {
                in_ports = false;
            }
        }
        ports
    };
    let port_of = |url: &str| -> String {
        let authority = url.split("://").nth(1).unwrap().split('/').next().unwrap();
        authority.rsplit(':').next().unwrap().to_string()
    };

    let redis_port = port_of(support::redis::DEFAULT_REDIS_URL);
    let amqp_port = port_of(support::amqp::DEFAULT_AMQP_URL);
    assert_eq!(redis_port, "6379");
    assert_eq!(amqp_port, "5672");
    assert!(
        published("redis").contains(&format!("127.0.0.1:{redis_port}:6379")),
        "redis ports: {:?}",
        published("redis")
    );
    let rabbit = published("rabbitmq");
    assert!(
        rabbit.contains(&format!("127.0.0.1:{amqp_port}:5672")),
        "{rabbit:?}"
    );
    assert!(
        rabbit.contains(&"127.0.0.1:15672:15672".to_string()),
        "{rabbit:?}"
    );
    let memcached = published("memcached");
    assert!(
        memcached.contains(&"127.0.0.1:11211:11211".to_string()),
        "{memcached:?}"
    );
    assert!(compose.contains("image: redis:7"));
    assert!(compose.contains("image: rabbitmq:3-management"));
    assert!(compose.contains("image: memcached:1.6"));
    // Every service has a healthcheck, so `docker compose up --wait` waits
    // until each one answers.
    assert_eq!(
        compose.matches("healthcheck:").count(),
        compose.matches("    image: ").count()
    );
}

/// `just up --cluster` starts the Redis group natively (scripts/redis-cluster)
/// or from docker-compose.yml's `cluster` profile: the same ports, password
/// and Sentinel settings in both, so what the book says holds either way.
#[test]
fn the_redis_cluster_is_the_same_natively_and_in_docker() {
    let root = workspace_root();
    let compose = fs::read_to_string(root.join("docker-compose.yml")).unwrap();
    let script = fs::read_to_string(root.join("scripts/redis-cluster")).unwrap();
    let setting = |name: &str| -> String {
        script
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("scripts/redis-cluster sets no {name}"))
            .to_string()
    };
    let (primary, replica, sentinel) = (
        setting("primary_port"),
        setting("replica_port"),
        setting("sentinel_port"),
    );
    let (name, down_after) = (setting("master_name"), setting("down_after_ms"));
    let password = support::redis::COURSE_REDIS_PASSWORD;
    let service = |service: &str| -> String {
        compose
            .lines()
            .skip_while(|line| line.trim_end() != format!("  {service}:"))
            .skip(1)
            .take_while(|line| line.starts_with("    ") || line.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (svc, port) in [("redis-primary", &primary), ("redis-replica", &replica)] {
        let text = service(svc);
        assert!(text.contains("profiles: [\"cluster\"]"), "{svc}: {text}");
        assert!(
            text.contains(&format!("\"--port\", \"{port}\"")),
            "{svc}: {text}"
        );
        assert!(
            text.contains(&format!(
                "\"--requirepass\", \"{password}\", \"--masterauth\", \"{password}\""
            )),
            "{svc}: {text}"
        );
    }
    assert!(
        service("redis-replica")
            .contains(&format!("\"--replicaof\", \"127.0.0.1\", \"{primary}\""))
    );
    let watcher = service("redis-sentinel");
    assert!(watcher.contains("profiles: [\"cluster\"]"));
    for line in [
        format!("port {sentinel}"),
        format!("sentinel monitor {name} 127.0.0.1 {primary} 1"),
        format!("sentinel auth-pass {name} {password}"),
        format!("sentinel down-after-milliseconds {name} {down_after}"),
    ] {
        assert!(
            watcher.contains(&line),
            "the Sentinel's config lacks {line:?}: {watcher}"
        );
    }
    // The script writes the same settings from its variables.
    for line in [
        "port $sentinel_port",
        "sentinel monitor $master_name 127.0.0.1 $primary_port 1",
        "sentinel auth-pass $master_name $password",
        "sentinel down-after-milliseconds $master_name $down_after_ms",
    ] {
        assert!(
            script.contains(line),
            "scripts/redis-cluster lacks {line:?}"
        );
    }
    let justfile = fs::read_to_string(root.join("justfile")).unwrap();
    assert!(
        justfile.contains(
            "scripts/redis-cluster up \"{{brokers}}/redis-cluster\" \"{{redis_password}}\""
        )
    );
    assert!(justfile.contains("scripts/redis-cluster down "));
    assert!(justfile.contains("scripts/redis-cluster status "));
}

/// The course's Redis has one password, written in three places: the support
/// crate's default URL (what every lesson connects with), the justfile (what
/// `just up` and `just run` start) and docker-compose.yml.
#[test]
fn the_redis_password_is_the_same_everywhere() {
    let password = support::redis::COURSE_REDIS_PASSWORD;
    assert!(
        support::redis::DEFAULT_REDIS_URL.starts_with(&format!("redis://:{password}@")),
        "{}",
        support::redis::DEFAULT_REDIS_URL
    );
    let justfile = fs::read_to_string(workspace_root().join("justfile")).unwrap();
    assert!(
        justfile.contains(&format!("redis_password := \"{password}\"")),
        "the justfile's redis_password differs from {password}"
    );
    assert!(justfile.contains("--requirepass \"{{redis_password}}\""));
    let compose = fs::read_to_string(workspace_root().join("docker-compose.yml")).unwrap();
    assert!(
        compose.contains(&format!("\"--requirepass\", \"{password}\"")),
        "docker-compose.yml starts Redis without the password {password}"
    );
}

/// Every benchmark `just bench` knows is a `harness = false` bench target of
/// a written lesson.
#[test]
fn benchmarks_exist_where_the_table_says() {
    let root = workspace_root();
    for bench in BENCHES {
        let lesson = bench.lesson();
        let dir = lesson.path(&root);
        assert!(
            dir.join("benches")
                .join(format!("{}.rs", bench.target))
                .is_file(),
            "bench `{}`: no {}/benches/{}.rs",
            bench.name,
            dir.display(),
            bench.target
        );
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("name = \"{}\"", bench.target))
                && manifest.contains("harness = false"),
            "bench `{}`: {} needs a [[bench]] named {} with harness = false",
            bench.name,
            lesson.package(),
            bench.target
        );
    }
}

/// Every benchmark has a smoke mode (`--smoke`), and `just test` runs them
/// all (`course bench --smoke`): a benchmark nobody runs rots unnoticed.
/// The smoke runs themselves are the test that each one still works.
#[test]
fn every_benchmark_has_a_smoke_run_that_just_test_runs() {
    let root = workspace_root();
    for bench in BENCHES {
        let source = bench
            .lesson()
            .path(&root)
            .join("benches")
            .join(format!("{}.rs", bench.target));
        let code = fs::read_to_string(&source).unwrap();
        assert!(
            code.contains("smoke: bool"),
            "bench `{}`: {} has no --smoke flag (tiny sizes, one round, no verdict)",
            bench.name,
            source.display()
        );
    }
    let justfile = fs::read_to_string(root.join("justfile")).unwrap();
    let test_recipe: String = justfile
        .lines()
        .skip_while(|line| !line.starts_with("test:"))
        .skip(1)
        .take_while(|line| line.starts_with(' '))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        test_recipe.contains("-- bench --smoke"),
        "the justfile's test recipe must run every bench's smoke run:\n{test_recipe}"
    );
}

/// Links between book pages point at pages that exist (mdbook itself does
/// not check them).
#[test]
fn book_links_between_pages_resolve() {
    for page in book_pages() {
        let text = fs::read_to_string(&page).unwrap();
        for (start, _) in text.match_indices("](") {
            let rest = &text[start + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].split('#').next().unwrap_or("");
            if target.is_empty() || target.contains("://") || !target.ends_with(".md") {
                continue;
            }
            let path = page.parent().unwrap().join(target);
            assert!(
                path.is_file(),
                "{} links to {target}, which does not exist",
                page.display()
            );
        }
    }
}

/// The table of contents lists every page once, and no written lesson is
/// left as a draft entry (`- [NN Title]()`).
#[test]
fn the_summary_lists_every_page_once() {
    let root = workspace_root();
    let summary = fs::read_to_string(root.join("docs/src/SUMMARY.md")).unwrap();
    let mut listed = BTreeSet::new();
    for (start, _) in summary.match_indices("](") {
        let rest = &summary[start + 2..];
        let target = &rest[..rest.find(')').unwrap()];
        if target.is_empty() {
            continue;
        }
        assert!(
            listed.insert(target.to_string()),
            "SUMMARY.md lists {target} twice"
        );
    }
    for page in book_pages() {
        let relative = page.strip_prefix(root.join("docs/src")).unwrap();
        let relative = relative.to_string_lossy().into_owned();
        if relative != "SUMMARY.md" {
            assert!(
                listed.contains(&relative),
                "SUMMARY.md does not list {relative}"
            );
        }
    }
    for lesson in LESSONS.iter().filter(|l| l.is_written(&root)) {
        let draft = format!("- [{:02} ", lesson.number);
        assert!(
            !summary
                .lines()
                .any(|line| line.trim_start().starts_with(&draft) && line.ends_with("]()")),
            "lesson {:02} is written but still a draft in SUMMARY.md",
            lesson.number
        );
    }
}

/// `just run` first builds the course map, then the lesson. The map must
/// build in a moment on a fresh machine, so it depends on nothing: no
/// `[dependencies]` in its manifest (dev-dependencies only serve its tests).
/// Each lesson then builds only its own dependencies (cargo's `--package`).
#[test]
fn the_course_map_builds_without_dependencies() {
    let manifest = fs::read_to_string(workspace_root().join("lessons/course/Cargo.toml")).unwrap();
    let sections: Vec<&str> = manifest
        .lines()
        .filter(|line| line.starts_with('['))
        .collect();
    assert!(
        !sections
            .iter()
            .any(|s| *s == "[dependencies]" || *s == "[build-dependencies]"),
        "lessons/course/Cargo.toml has dependencies: {sections:?}"
    );
}
