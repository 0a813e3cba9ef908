//! Fuzzes the name half of the path jail (`jail::join`): whatever a client
//! sends as a path, from whatever current directory, an accepted result is
//! a clean absolute path with no `.` or `..` left in it, so joining it to
//! the root can never climb out.

#![no_main]

use lesson_25_ftp::jail;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (cwd, arg) = input;
    // The server only ever holds clean current directories.
    let Ok(cwd) = jail::join("/", cwd) else { return };
    if let Ok(path) = jail::join(&cwd, arg) {
        assert!(path.starts_with('/'), "{path:?}");
        assert!(path == "/" || !path.ends_with('/'), "{path:?}");
        for part in path.split('/').skip(1) {
            assert!(path == "/" || !part.is_empty(), "{path:?}");
            assert!(part != "." && part != "..", "{path:?}");
        }
        assert!(!path.contains(['\0', '\r', '\n']), "{path:?}");
    }
});
