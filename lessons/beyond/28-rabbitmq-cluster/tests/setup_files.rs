//! The cluster a student starts with `just up --cluster` is the same with
//! and without Docker: docker-compose.yml's `cluster` profile and the
//! native script publish the same three ports, on 127.0.0.1 only. (No
//! Docker engine runs here: the compose file can only be read.)

use std::fs;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

#[test]
fn compose_and_the_native_script_agree_on_the_cluster() {
    let compose = fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    let script = fs::read_to_string(root().join("scripts/rabbitmq-cluster")).unwrap();
    // The script's ports: 5672 + N for rabbit-N.
    assert!(
        script.contains("port() { echo $((5672 + $1)); }"),
        "{script}"
    );
    for n in 1..=3 {
        let service: String = compose
            .lines()
            .skip_while(|line| line.trim_end() != format!("  rabbit-{n}:"))
            .skip(1)
            .take_while(|line| line.starts_with("    ") || line.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            service.contains("profiles: [\"cluster\"]"),
            "rabbit-{n}:\n{service}"
        );
        assert!(
            service.contains(&format!("hostname: rabbit-{n}")),
            "{service}"
        );
        let published = format!("\"127.0.0.1:{}:5672\"", 5672 + n);
        assert!(
            service.contains(&published),
            "rabbit-{n} must publish {published}:\n{service}"
        );
        assert!(
            compose.contains(&format!("nodes.{n} = rabbit@rabbit-{n}")),
            "rabbit-{n} is missing from the peer list"
        );
    }
    let justfile = fs::read_to_string(root().join("justfile")).unwrap();
    for verb in ["up", "down", "status"] {
        assert!(
            justfile.contains(&format!("scripts/rabbitmq-cluster {verb}")),
            "the justfile's {verb} recipe must call scripts/rabbitmq-cluster {verb}"
        );
    }
}
