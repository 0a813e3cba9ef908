//! Lesson 01: generators as coroutines: a producer feeds two consumers.
//!
//! A *generator* is a function that can stop in the middle (`yield`), hand a
//! value out, and later carry on exactly where it stopped, with all its local
//! variables intact. If the caller can also hand a value *in* when it resumes
//! it (`send`), the generator becomes a consumer: it sits waiting for the
//! next item, does its work, and waits again.
//!
//! Here two consumers eat baozi (steamed buns) that one producer makes. There
//! is one thread and no lock: the producer decides who runs, by sending.
//!
//! Run it with `just run lesson-01` (or `--rounds 3` for a shorter meal).

use generator::{Generator, Gn, Scope};

// ANCHOR: types
/// What a consumer hands back each time it is resumed: its name and how many
/// baozi it has eaten so far. The count lives in the consumer's own local
/// variable; the producer never stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub name: String,
    pub eaten: u32,
}

/// A consumer is a generator that takes baozi numbers in (`u32`) and hands
/// receipts out. `'static`: it owns everything it uses.
pub type Consumer = Generator<'static, u32, Receipt>;
// ANCHOR_END: types

// ANCHOR: consumer
/// Creates a consumer. Creating it runs none of its code: a generator starts
/// only when it is first resumed.
pub fn consumer(name: &str) -> Consumer {
    let name = name.to_string();
    Gn::<u32>::new_scoped(move |mut scope: Scope<u32, Receipt>| {
        println!("[{name}] ready for baozi");
        let mut eaten = 0;
        loop {
            // Hand out a receipt and stop here. The next `send(n)` resumes
            // us right on this line, with `Some(n)`; a resume that sends
            // nothing gives `None`, which is our signal that the meal is over.
            let receipt = Receipt {
                name: name.clone(),
                eaten,
            };
            match scope.yield_(receipt) {
                Some(baozi) => {
                    eaten += 1;
                    println!("[{name}] eating baozi {baozi}");
                }
                None => break,
            }
        }
        println!("[{name}] no more baozi: I ate {eaten}");
        // A generator's return value is the last thing it hands out.
        Receipt { name, eaten }
    })
}
// ANCHOR_END: consumer

// ANCHOR: producer
/// Makes `rounds` baozi and gives each one to every consumer, then tells the
/// consumers to stop. Returns their final receipts.
pub fn producer(consumers: &mut [Consumer], rounds: u32) -> Vec<Receipt> {
    // Step 1: start each consumer. It runs up to its first `yield` and waits
    // there: this is what Python's `next(con)` before the first `send` does.
    for consumer in consumers.iter_mut() {
        consumer.resume();
    }
    // Step 2: the meal. `send` resumes a consumer with a value and returns
    // when that consumer yields again, giving back its receipt.
    for baozi in 1..=rounds {
        println!("[producer] made baozi {baozi}");
        let receipts: Vec<Receipt> = consumers.iter_mut().map(|c| c.send(baozi)).collect();
        let counts: Vec<String> = receipts
            .iter()
            .map(|r| format!("{} has eaten {}", r.name, r.eaten))
            .collect();
        println!("[producer] {}", counts.join(", "));
    }
    // Step 3: resume each one with no value, so it leaves its loop, and
    // collect what it returns.
    println!("[producer] {rounds} baozi made, closing the shop");
    consumers
        .iter_mut()
        .filter_map(|consumer| consumer.raw_send(None))
        .collect()
}
// ANCHOR_END: producer
