//! The greenlet checker's probe: greenlets of the checker's own, run by the
//! student's `Greenlets::run` and `Switcher::switch`.
//!
//! The checker builds this file against the student's library (the
//! dependency `subject`) and reads what it prints. The bodies below are not
//! the exercise's `test1` and `test2`: only a trampoline that really resumes
//! the greenlet each switch names prints their lines in this order.
//!
//! `probe order` runs four greenlets through seven switches, one of them
//! from deep inside nested calls; `probe unknown` switches to names that no
//! greenlet has.

use subject::{Greenlets, Switcher};

fn a(me: &mut Switcher) {
    println!("a1");
    me.switch("c");
    println!("a2");
    // A switch from three calls down: when `a` is resumed, the whole stack
    // must still be there, locals included.
    deep(me, 3);
    println!("a4 (never: nobody switches back to a again)");
}

fn deep(me: &mut Switcher, depth: u32) {
    if depth > 0 {
        let below = depth * 10;
        deep(me, depth - 1);
        if depth == 3 {
            println!("a3 back at depth {depth}, local {below}");
            me.switch("b");
        }
    } else {
        me.switch("c");
    }
}

fn b(me: &mut Switcher) {
    println!("b1");
    me.switch("a");
    println!("b2");
}

fn c(me: &mut Switcher) {
    println!("c1");
    me.switch("b");
    println!("c2");
    me.switch("a");
    println!("c3 (never: nobody switches back to c again)");
}

fn d(_me: &mut Switcher) {
    println!("d1 (never: nobody switches to d)");
}

fn x(me: &mut Switcher) {
    println!("x1");
    me.switch("nobody");
    println!("x2 (never: the switch went nowhere)");
}

fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    let mut greenlets = Greenlets::new();
    match scenario.as_str() {
        "order" => {
            for (name, body) in [("a", a as fn(&mut Switcher)), ("b", b), ("c", c), ("d", d)] {
                greenlets.spawn(name, body);
            }
            match greenlets.run("a") {
                Ok(()) => println!("run: Ok"),
                Err(error) => println!("run: Err {} -> {}", error.from, error.to),
            }
            for (name, state) in greenlets.states() {
                println!("{name}: {state:?}");
            }
        }
        "unknown" => {
            greenlets.spawn("x", x);
            match greenlets.run("missing") {
                Ok(()) => println!("run(missing): Ok"),
                Err(error) => println!("run(missing): Err {} -> {}", error.from, error.to),
            }
            match greenlets.run("x") {
                Ok(()) => println!("run(x): Ok"),
                Err(error) => println!("run(x): Err {} -> {}", error.from, error.to),
            }
        }
        other => {
            eprintln!("unknown scenario `{other}` (order or unknown)");
            std::process::exit(2);
        }
    }
}
