#[slipstream::client(topics = ["rooms:lobby"])]
#[repeat(to = self.hub)]
struct Repeater {
    hub: String,
}

fn main() {}
