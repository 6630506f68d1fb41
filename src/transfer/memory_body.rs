//! The body of a request, held in memory: streamed to chunk listeners (cut
//! as the task's framing says), parsed for server-sent events when the
//! task listens to them, and kept for the result unless the task is
//! chunked.

use crate::framing::{Framer, Framing, SseParser};
use crate::task::Task;

pub(crate) struct MemoryBody {
    keep: bool,
    data: Vec<u8>,
    framer: Framer,
    /// Made at the first body bytes an SSE listener is there for; boxed,
    /// so that the tasks without one do not carry its room.
    sse: Option<Box<SseParser>>,
}

impl MemoryBody {
    pub fn new(keep: bool, framing: Framing) -> MemoryBody {
        MemoryBody {
            keep,
            data: Vec::new(),
            framer: Framer::new(framing),
            sse: None,
        }
    }

    pub fn write(&mut self, task: &Task, data: &[u8]) {
        self.framer.feed(data, &mut |piece| task.emit_chunk(piece));
        if self.sse.is_none() && task.wants_sse() {
            self.sse = Some(Box::default());
        }
        if let Some(parser) = &mut self.sse {
            let mut listeners = task.sse_listeners().batch();
            parser.feed(data, &mut |event| task.emit_sse(&mut listeners, event));
        }
        if self.keep {
            self.data.extend_from_slice(data);
        }
    }

    /// At the end of the body (or of the transfer): hands the chunk
    /// listeners what framing held back.
    pub fn flush(&mut self, task: &Task) {
        self.framer.finish(&mut |piece| task.emit_chunk(piece));
    }

    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.data)
    }
}
