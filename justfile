# The course's commands. `just` alone lists them; `just list` lists the lessons.

set shell := ["bash", "-euo", "pipefail", "-c"]
set positional-arguments

# Where `just up` keeps native brokers' data, logs and pid files (gitignored).
brokers := justfile_directory() / ".brokers"
# The course Redis's password: support::redis::COURSE_REDIS_PASSWORD (a test
# checks that they agree).
redis_password := "course-redis"

# Show the recipes.
default:
    @just --list --unsorted

# List every lesson: number, title, programs.
list:
    @cargo run --quiet --package course -- list

# Build and run a lesson: just run lesson-05 [PROGRAM] [ARGS...]
# [no-cd]: the program runs in your folder, so `get a.txt` or `--root share`
# mean what they say there; --manifest-path finds the workspace from anywhere.
[no-exit-message]
[no-cd]
run lesson *args:
    @cargo run --quiet --manifest-path "{{justfile_directory()}}/Cargo.toml" --package course -- run "$@"

# Run a benchmark, optimised: just bench NAME [ARGS...] (no NAME: list them; --plot FILE: a chart too)
# [no-cd]: `--plot chart.svg` lands in your folder; --manifest-path finds the workspace.
[no-exit-message]
[no-cd]
bench *args:
    @cargo run --quiet --manifest-path "{{justfile_directory()}}/Cargo.toml" --package course -- bench "$@"

# Play a lesson's multi-process scenario in one terminal: just demo lesson-11 [--throwaway]; just demo lesson-26 --hosts (root)
[no-exit-message]
demo *args:
    @cargo run --quiet --package classroom --bin demo -- "$@"

# Run the book's `$ just run` transcripts and compare their output: just transcripts [--bless] [PATH-PART...]
[no-exit-message]
transcripts *args:
    @cargo build --quiet --workspace --bins --locked
    @cargo run --quiet --locked --package classroom --bin transcripts -- "$@"

# Rewrite the exercise starters from their lessons' EXERCISE markers: just exercises [--check | --force]
[no-exit-message]
exercises *args:
    @cargo run --quiet --package course -- exercises "$@"

# Check an exercise: just check greenlet [--solution] (no NAME: list them)
[no-exit-message]
check *args:
    @cargo run --quiet --package classroom --bin check -- "$@"

# --cluster also starts the "Beyond one machine" groups: a Redis primary (6380), replica (6381) and Sentinel (26379),
# and three clustered RabbitMQ nodes (5673-5675).
# Start Redis, RabbitMQ and Memcached on the default ports (docker compose, else native binaries): just up [redis] [rabbitmq] [memcached] [--cluster]
up *services:
    #!/usr/bin/env bash
    set -euo pipefail
    services=(); cluster=
    for arg in "$@"; do
        case "$arg" in --cluster) cluster=1;; *) services+=("$arg");; esac
    done
    [ ${#services[@]} -gt 0 ] || services=(redis rabbitmq memcached)
    for service in "${services[@]}"; do
        case "$service" in redis|rabbitmq|memcached) ;; *) echo "just up: no broker called '$service' (redis, rabbitmq, memcached; --cluster)" >&2; exit 2;; esac
    done
    if docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
        echo "Docker engine found: starting ${services[*]}${cluster:+ and the cluster profile} with docker compose"
        if [ -n "$cluster" ]; then
            docker compose --profile cluster up --detach --wait "${services[@]}" redis-primary redis-replica redis-sentinel rabbit-1 rabbit-2 rabbit-3
        else
            docker compose up --detach --wait "${services[@]}"
        fi
        just status
        exit 0
    fi
    echo "No Docker engine here: starting the native servers (${services[*]})"
    answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
    started() { # name port pidfile log: wait until the port answers, while the process lives
        local i
        for i in $(seq 900); do
            if answers "$2"; then [ "$i" -gt 10 ] && echo; return 0; fi
            kill -0 "$(cat "$3")" 2>/dev/null || { echo; echo "$1 exited; its output:" >&2; tail -n 30 "$4" >&2; return 1; }
            [ "$i" -eq 10 ] && printf "%s: starting" "$1"
            [ "$i" -gt 10 ] && printf "."
            sleep 0.1
        done
        echo; echo "$1 did not answer within 90 s; see $4" >&2; return 1
    }

    for service in "${services[@]}"; do
        dir="{{brokers}}/$service"
        mkdir -p "$dir"
        case "$service" in
    # --- Redis ------------------------------------------------------------
    redis)
        if answers 6379; then
            echo "redis:     something already answers on 127.0.0.1:6379, leaving it alone"
            continue
        fi
        command -v redis-server >/dev/null || { echo "redis-server is not installed: just setup installs it" >&2; exit 1; }
        # A password (support::redis::COURSE_REDIS_PASSWORD): an open Redis
        # lets every local program read and rewrite every key.
        redis-server --port 6379 --bind 127.0.0.1 --requirepass "{{redis_password}}" --daemonize yes \
            --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
        for _ in $(seq 100); do answers 6379 && break; sleep 0.1; done
        echo "redis:     started, redis://:{{redis_password}}@127.0.0.1:6379/ (redis-cli -a {{redis_password}}; log: .brokers/redis/redis.log)"
        ;;
    # --- RabbitMQ ---------------------------------------------------------
    rabbitmq)
        if answers 5672; then
            echo "rabbitmq:  something already answers on 127.0.0.1:5672, leaving it alone"
            continue
        fi
        # Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user; the
        # script behind it runs the node as you, with state in .brokers/.
        server=/usr/lib/rabbitmq/bin/rabbitmq-server
        [ -x "$server" ] || server=$(command -v rabbitmq-server) || { echo "rabbitmq-server is not installed: just setup installs it" >&2; exit 1; }
        printf '[rabbitmq_management].\n' > "$dir/enabled_plugins"
        printf 'listeners.tcp.default = 127.0.0.1:5672\nmanagement.tcp.ip = 127.0.0.1\nmanagement.tcp.port = 15672\n' > "$dir/rabbitmq.conf"
        : > "$dir/rabbitmq-env.conf"
        RABBITMQ_NODENAME=course@localhost \
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq" \
        RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" \
        RABBITMQ_LOG_BASE="$dir/log" \
        RABBITMQ_PID_FILE="$dir/rabbitmq.pid" \
        RABBITMQ_ALLOW_INPUT=1 \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-noinput" \
            setsid "$server" > "$dir/stdout.log" 2>&1 < /dev/null &
        echo $! > "$dir/rabbitmq.pid"
        started rabbitmq 5672 "$dir/rabbitmq.pid" "$dir/stdout.log"
        echo "rabbitmq:  started, amqp://guest:guest@127.0.0.1:5672/%2f"
        echo "           management UI http://127.0.0.1:15672 (guest/guest); log: .brokers/rabbitmq/"
        ;;
    # --- Memcached --------------------------------------------------------
    memcached)
        if answers 11211; then
            echo "memcached: something already answers on 127.0.0.1:11211, leaving it alone"
            continue
        fi
        command -v memcached >/dev/null || { echo "memcached is not installed: just setup installs it" >&2; exit 1; }
        # memcached refuses to run as root unless told which user to be.
        as=(); [ "$(id -u)" -ne 0 ] || as=(--user root)
        setsid memcached --port 11211 --listen 127.0.0.1 --udp-port 0 "${as[@]}" \
            > "$dir/memcached.log" 2>&1 < /dev/null &
        echo $! > "$dir/memcached.pid"
        started memcached 11211 "$dir/memcached.pid" "$dir/memcached.log"
        echo "memcached: started, 127.0.0.1:11211 (log: .brokers/memcached/memcached.log)"
        ;;
        esac
    done
    if [ -n "$cluster" ]; then
        scripts/redis-cluster up "{{brokers}}/redis-cluster" "{{redis_password}}"
        scripts/rabbitmq-cluster up
    fi

# Stop the brokers that `just up` started (and nothing else).
down:
    #!/usr/bin/env bash
    set -euo pipefail
    if docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
        docker compose --profile cluster down
    fi
    scripts/redis-cluster down "{{brokers}}/redis-cluster" "{{redis_password}}"
    scripts/rabbitmq-cluster down
    for name in redis rabbitmq memcached; do
        pidfile="{{brokers}}/$name/$name.pid"
        [ -f "$pidfile" ] || { echo "$name: not started by just up"; continue; }
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            echo "$name: stopped (pid $pid)"
        else
            echo "$name: was not running"
        fi
        rm -f "$pidfile"
    done

# Say which brokers run where.
status:
    #!/usr/bin/env bash
    set -uo pipefail
    if docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
        echo "docker compose:"; docker compose --profile cluster ps
    else
        echo "docker: no engine here (just up uses the native binaries)"
    fi
    check() { # name port url pidfile
        local how="not started by just up"
        if [ -f "$4" ] && kill -0 "$(cat "$4")" 2>/dev/null; then how="native, pid $(cat "$4"), data in .brokers/$1"; fi
        if (exec 3<>/dev/tcp/127.0.0.1/$2) 2>/dev/null; then
            echo "$1: answering at $3 ($how)"
        else
            echo "$1: nothing on 127.0.0.1:$2 (start it with: just up)"
        fi
    }
    check redis 6379 "redis://:{{redis_password}}@127.0.0.1:6379/" "{{brokers}}/redis/redis.pid"
    check rabbitmq 5672 "amqp://guest:guest@127.0.0.1:5672/%2f" "{{brokers}}/rabbitmq/rabbitmq.pid"
    check memcached 11211 "127.0.0.1:11211" "{{brokers}}/memcached/memcached.pid"
    if (exec 3<>/dev/tcp/127.0.0.1/15672) 2>/dev/null; then echo "rabbitmq management UI: http://127.0.0.1:15672"; fi
    scripts/redis-cluster status "{{brokers}}/redis-cluster" "{{redis_password}}"
    scripts/rabbitmq-cluster status

# Run rabbitmqctl against the course broker: just rabbitmqctl add_user hhh hhh1234
rabbitmqctl *args:
    #!/usr/bin/env bash
    set -euo pipefail
    if docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
        exec docker compose exec rabbitmq rabbitmqctl "$@"
    fi
    pidfile="{{brokers}}/rabbitmq/rabbitmq.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        # The node `just up` started runs as you, named course@localhost.
        ctl=/usr/lib/rabbitmq/bin/rabbitmqctl
        [ -x "$ctl" ] || ctl=rabbitmqctl
        RABBITMQ_CONF_ENV_FILE="{{brokers}}/rabbitmq/rabbitmq-env.conf" exec "$ctl" -n course@localhost "$@"
    fi
    # A system-wide RabbitMQ (a service): its own rabbitmqctl, usually with sudo.
    exec rabbitmqctl "$@"

# Check this machine for everything the course needs, and say what to install or stop.
doctor:
    #!/usr/bin/env bash
    set -uo pipefail
    problems=0
    mac=; [ "$(uname -s)" = Darwin ] && mac=1
    ok()   { printf '  \033[32mok\033[0m    %s\n' "$1"; }
    warn() { printf '  \033[33mnote\033[0m  %s\n' "$1"; }
    bad()  { printf '  \033[31mfix\033[0m   %s\n' "$1"; problems=$((problems + 1)); }
    install() { # debian-package brew-formula
        if [ -n "$mac" ]; then echo "just setup (or brew install $2)"; else echo "just setup (or sudo apt-get install $1)"; fi
    }
    have() { command -v "$1" >/dev/null 2>&1; }

    echo "Toolchain"
    if have cargo && have rustc; then
        version=$(rustc --version | cut -d' ' -f2)
        minimum=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
        if [ "$(printf '%s\n%s\n' "$minimum" "$version" | sort -V | head -n1)" = "$minimum" ]; then
            ok "rustc $version (needs $minimum or newer)"
        else
            bad "rustc $version is older than $minimum: rustup update stable"
        fi
    else
        bad "Rust is missing: install it from https://rustup.rs"
    fi
    have just && ok "just $(just --version | cut -d' ' -f2)"
    if have mdbook; then ok "mdbook $(mdbook --version | cut -d' ' -f2)"; else bad "mdbook is missing: just setup (or cargo install --locked mdbook)"; fi

    echo "Brokers (lessons 10-26, and the tests)"
    if docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
        ok "Docker engine with compose: just up will use docker-compose.yml"
    else
        warn "no Docker engine: just up will use the native servers"
    fi
    if have redis-server; then ok "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"; else bad "redis-server is missing: $(install redis-server redis)"; fi
    if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || have rabbitmq-server; then
        ok "rabbitmq-server"
    else
        bad "rabbitmq-server is missing: $(install rabbitmq-server rabbitmq)"
    fi
    if have epmd || [ -n "$mac" ]; then :; else warn "epmd not on PATH (it comes with Erlang, a dependency of rabbitmq-server)"; fi
    if have memcached; then ok "memcached $(memcached --version | cut -d' ' -f2)"; else bad "memcached is missing: $(install memcached memcached)"; fi

    echo "Tools some lessons and tests use"
    for tool in curl lftp python3; do
        if have "$tool"; then ok "$tool"; else bad "$tool is missing: $(install "$tool" "$tool")"; fi
    done

    echo "Default ports on 127.0.0.1"
    port_user() { # port -> who listens, if we can tell
        if have ss; then ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)".*/\1/p' | head -n1
        elif have lsof; then lsof -nP -iTCP:"$1" -sTCP:LISTEN 2>/dev/null | awk 'NR==2 {print $1}'; fi
    }
    for entry in "6379 Redis" "5672 RabbitMQ" "11211 Memcached" "15672 RabbitMQ-management" "8001 lesson-05-server" "10000 lessons-08/09-server" "2121 lesson-25-ftp-server" "3000 just-book"; do
        port=${entry%% *}; what=${entry#* }
        if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
            who=$(port_user "$port")
            case "$port" in
                6379|5672|11211|15672) ok "$port ($what) answers${who:+ ($who)}: fine if it is the course broker (just status)";;
                *) bad "$port ($what) is taken${who:+ by $who}: stop it, or pass --listen 127.0.0.1:OTHER";;
            esac
        else
            case "$port" in
                6379|5672|11211) warn "$port ($what) is free: just up starts it (and just run, when a lesson needs it)";;
                *) ok "$port ($what) is free";;
            esac
        fi
    done

    echo
    if [ "$problems" -eq 0 ]; then echo "All set: try just run lesson-01, then just test."; else echo "$problems thing(s) to fix, listed above (just setup installs what is missing)."; exit 1; fi

# Install what this machine lacks for the course (brokers, FTP clients, memcached, mdbook), and nothing else.
setup *args:
    @scripts/setup "$@"

# Everything CI checks: formatting, clippy, every test (with throwaway brokers), every bench's smoke run, the book.
test:
    @scripts/setup --for "just test"
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    cargo test --workspace --locked
    cargo run --quiet --locked --package course -- bench --smoke
    just transcripts
    mdbook build docs

# Redraw the book's diagrams (docs/diagrams/*.bob -> docs/src/images/*.svg).
diagrams:
    cargo run --quiet --package book --bin diagrams

# Serve the book at http://127.0.0.1:3000 and rebuild it on every change.
book:
    mdbook serve docs --hostname 127.0.0.1 --port 3000

# Format all code.
fmt:
    cargo fmt --all

# Clippy with warnings as errors, as CI runs it.
lint:
    cargo clippy --workspace --all-targets --locked -- -D warnings
