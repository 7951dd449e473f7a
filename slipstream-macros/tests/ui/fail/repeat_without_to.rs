#[slipstream::client(topics = ["rooms:lobby"])]
#[repeat(topics = ["rooms:lobby"])]
struct Repeater;

fn main() {}
