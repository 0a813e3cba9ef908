//! Downloads with tokio tasks and reqwest: every wait is an `.await`.
//!
//! The shape is the same as [`crate::coroutine`]: fetch each URL in turn,
//! then spawn one task per URL and join them all. The difference is in how
//! a wait happens. A may coroutine has a stack of its own, so any function
//! deep inside it can park it. A tokio task is a `Future`, a state machine
//! the compiler builds from an `async fn`; it can only stop where the code
//! says `.await`, and only `async` functions can contain one. Nothing
//! switches behind your back, and every place that may wait is visible.

use std::time::{Duration, Instant};

use crate::{Download, Outcome, Result, Run, finished_line, started_line};

// ANCHOR: client
/// One HTTP client for the whole program: it keeps a pool of connections
/// and the TLS settings, and is cheap to clone (an `Arc` inside).
pub fn client(timeout: Duration) -> Result<reqwest::Client> {
    crate::install_tls_provider();
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .user_agent("lesson-04-fetch-async")
        .build()?)
}
// ANCHOR_END: client

// ANCHOR: runs
/// One URL after another: each `.await` waits for the previous download to
/// finish before the next one starts.
pub async fn one_by_one(client: &reqwest::Client, urls: &[String]) -> Run {
    let began = Instant::now();
    let mut outcomes = Vec::with_capacity(urls.len());
    for url in urls {
        outcomes.push(fetch_and_print(client.clone(), url.clone()).await);
    }
    Run {
        outcomes,
        elapsed: began.elapsed(),
    }
}

/// One task per URL, all spawned before any is awaited: `tokio::spawn` is
/// `gevent.spawn`, awaiting the handles in order is `joinall`.
pub async fn all_at_once(client: &reqwest::Client, urls: &[String]) -> Run {
    let began = Instant::now();
    let handles: Vec<_> = urls
        .iter()
        .map(|url| tokio::spawn(fetch_and_print(client.clone(), url.clone())))
        .collect();
    let mut outcomes = Vec::with_capacity(handles.len());
    for (handle, url) in handles.into_iter().zip(urls) {
        outcomes.push(handle.await.unwrap_or_else(|error| Outcome {
            url: url.clone(),
            result: Err(format!("the task failed: {error}")),
        }));
    }
    Run {
        outcomes,
        elapsed: began.elapsed(),
    }
}

async fn fetch_and_print(client: reqwest::Client, url: String) -> Outcome {
    println!("{}", started_line(&url));
    let outcome = Outcome {
        result: fetch(&client, &url)
            .await
            .map_err(|error| crate::describe(&*error)),
        url,
    };
    println!("{}", finished_line(&outcome));
    outcome
}
// ANCHOR_END: runs

// ANCHOR: fetch
/// Downloads `url` and counts the body's bytes, chunk by chunk as they
/// arrive (the body is never held in memory whole). A status other than
/// 2xx is an error; redirects are followed by reqwest.
pub async fn fetch(client: &reqwest::Client, url: &str) -> Result<Download> {
    let began = Instant::now();
    let mut response = client.get(url).send().await?.error_for_status()?;
    let status = response.status().as_u16();
    let (mut bytes, mut reads) = (0u64, 0u64);
    // Each `.await` here is where this task may pause and another run.
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len() as u64;
        reads += 1;
    }
    Ok(Download {
        status,
        bytes,
        reads,
        elapsed: began.elapsed(),
    })
}
// ANCHOR_END: fetch
