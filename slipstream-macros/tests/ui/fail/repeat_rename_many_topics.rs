use slipstream::endpoint::{Broadcast, Endpoint, SubscriberId};

struct Sink;

impl Endpoint for Sink {
    fn publish(&self, _: Broadcast, _: Option<SubscriberId>) -> usize {
        0
    }
}

static SINK: Sink = Sink;

#[slipstream::client(topics = ["rooms:lobby", "rooms:ops"])]
#[repeat(to = SINK, rename = "mirror:lobby")]
struct Repeater;

fn main() {}
