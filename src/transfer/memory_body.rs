//! The body of a request, held in memory: streamed to chunk listeners,
//! kept for the result unless the task is chunked.

use crate::task::Task;

pub(crate) struct MemoryBody {
    keep: bool,
    data: Vec<u8>,
}

impl MemoryBody {
    pub fn new(keep: bool) -> MemoryBody {
        MemoryBody {
            keep,
            data: Vec::new(),
        }
    }

    pub fn write(&mut self, task: &Task, data: &[u8]) {
        task.emit_chunk(data);
        if self.keep {
            self.data.extend_from_slice(data);
        }
    }

    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.data)
    }
}
