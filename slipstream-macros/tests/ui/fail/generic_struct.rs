#[slipstream::client(topics = ["rooms:lobby"])]
struct Listener<T> {
    state: T,
}

fn main() {}
