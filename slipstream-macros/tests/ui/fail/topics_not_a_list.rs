#[slipstream::client(topics = "rooms:lobby")]
struct Listener;

fn main() {}
