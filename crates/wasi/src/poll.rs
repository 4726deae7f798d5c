//! `poll_oneoff` for clocks and stdio: files, captured stdio and outputs are always ready; an
//! inherited stdin is polled on the host; clock subscriptions bound the wait.

use crate::State;
use crate::errno::Errno;
use crate::fs::{FdKind, Input};
use crate::guest::Guest;

const SUBSCRIPTION_SIZE: u32 = 48;
const EVENT_SIZE: usize = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;

/// One event to report.
struct Event {
    userdata: u64,
    error: Errno,
    kind: u8,
    nbytes: u64,
}

impl Event {
    fn encode(&self) -> [u8; EVENT_SIZE] {
        let mut b = [0; EVENT_SIZE];
        b[0..8].copy_from_slice(&self.userdata.to_le_bytes());
        b[8..10].copy_from_slice(&(self.error as u16).to_le_bytes());
        b[10] = self.kind;
        b[16..24].copy_from_slice(&self.nbytes.to_le_bytes());
        b
    }
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut x = [0; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn now_ns(clock: rustix::time::ClockId) -> u64 {
    let t = rustix::time::clock_gettime(clock);
    (t.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(t.tv_nsec as u64)
}

pub(crate) fn poll_oneoff(
    state: &mut State,
    g: &Guest<'_>,
    subs: u32,
    events: u32,
    count: u32,
    out: u32,
) -> Result<(), Errno> {
    if count == 0 {
        return Err(Errno::Inval);
    }
    let bytes = g.read(
        subs,
        count.checked_mul(SUBSCRIPTION_SIZE).ok_or(Errno::Fault)?,
    )?;
    let mut ready = Vec::new();
    // (userdata, nanoseconds from now) of each clock subscription.
    let mut timers: Vec<(u64, u64)> = Vec::new();
    // userdata of the subscriptions waiting on the host's stdin.
    let mut stdin_waiters: Vec<u64> = Vec::new();
    for sub in bytes.chunks_exact(SUBSCRIPTION_SIZE as usize) {
        let userdata = le_u64(sub, 0);
        let kind = sub[8];
        let event = |error, nbytes| Event {
            userdata,
            error,
            kind,
            nbytes,
        };
        match kind {
            EVENTTYPE_CLOCK => {
                let clock = match crate::funcs::clock_id(le_u32(sub, 16)) {
                    Ok(c) => c,
                    Err(e) => {
                        ready.push(event(e, 0));
                        continue;
                    }
                };
                let timeout = le_u64(sub, 24);
                let flags = u16::from_le_bytes([sub[40], sub[41]]);
                let wait = if flags & SUBCLOCKFLAGS_ABSTIME != 0 {
                    timeout.saturating_sub(now_ns(clock))
                } else {
                    timeout
                };
                timers.push((userdata, wait));
            }
            EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => {
                let fd = le_u32(sub, 16);
                match state.fds.get(fd).map(|e| &e.kind) {
                    Err(e) => ready.push(event(e, 0)),
                    Ok(FdKind::Stdin(Input::Inherit)) if kind == EVENTTYPE_FD_READ => {
                        stdin_waiters.push(userdata)
                    }
                    Ok(FdKind::Stdin(Input::Bytes { data, pos })) if kind == EVENTTYPE_FD_READ => {
                        ready.push(event(Errno::Success, (data.len() - pos) as u64))
                    }
                    Ok(FdKind::File(f)) if kind == EVENTTYPE_FD_READ => {
                        use std::io::Seek;
                        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                        let pos = (&*f).stream_position().unwrap_or(0);
                        ready.push(event(Errno::Success, size.saturating_sub(pos)))
                    }
                    Ok(FdKind::Dir { .. }) => ready.push(event(Errno::Badf, 0)),
                    Ok(_) => ready.push(event(Errno::Success, 0)),
                }
            }
            _ => return Err(Errno::Inval),
        }
    }
    for &(userdata, wait) in &timers {
        if wait == 0 {
            ready.push(Event {
                userdata,
                error: Errno::Success,
                kind: EVENTTYPE_CLOCK,
                nbytes: 0,
            });
        }
    }
    if ready.is_empty() {
        let shortest = timers.iter().map(|t| t.1).min();
        let start = now_ns(rustix::time::ClockId::Monotonic);
        if stdin_waiters.is_empty() {
            if let Some(ns) = shortest {
                std::thread::sleep(std::time::Duration::from_nanos(ns));
            }
        } else {
            let mut fds = [rustix::event::PollFd::from_borrowed_fd(
                rustix::stdio::stdin(),
                rustix::event::PollFlags::IN,
            )];
            let timeout = shortest.map(|ns| rustix::time::Timespec {
                tv_sec: (ns / 1_000_000_000) as i64,
                tv_nsec: (ns % 1_000_000_000) as i64,
            });
            loop {
                match rustix::event::poll(&mut fds, timeout.as_ref()) {
                    Err(rustix::io::Errno::INTR) => continue,
                    other => break other.map(drop)?,
                };
            }
            if !fds[0].revents().is_empty() {
                for &userdata in &stdin_waiters {
                    ready.push(Event {
                        userdata,
                        error: Errno::Success,
                        kind: EVENTTYPE_FD_READ,
                        nbytes: 1,
                    });
                }
            }
        }
        let elapsed = now_ns(rustix::time::ClockId::Monotonic).saturating_sub(start);
        if ready.is_empty() {
            for &(userdata, wait) in &timers {
                if wait <= elapsed || Some(wait) == shortest {
                    ready.push(Event {
                        userdata,
                        error: Errno::Success,
                        kind: EVENTTYPE_CLOCK,
                        nbytes: 0,
                    });
                }
            }
        }
    }
    let mut encoded = Vec::with_capacity(ready.len() * EVENT_SIZE);
    for e in &ready {
        encoded.extend_from_slice(&e.encode());
    }
    g.write(events, &encoded)?;
    g.write_u32(out, ready.len() as u32)
}
