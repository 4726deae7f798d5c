//! The functions of `wasi_snapshot_preview1`: one table gives each name and its parameters,
//! from which the wasm signatures and the dispatch are generated; one method of [`State`] per
//! function implements it on the guest's memory and the descriptor table.

// The WASI signatures fix the parameter lists.
#![allow(clippy::too_many_arguments)]

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use cap_std::fs::MetadataExt;
use std::time::Duration;

use aotc_loader::{FuncType, Val, ValType};
use cap_fs_ext::{DirExt, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, SystemTimeSpec};

use crate::State;
use crate::errno::Errno;
use crate::fs::{self, Fd, FdKind, Input, filetype, rights};
use crate::guest::Guest;

/// Why a function did not return an errno.
pub(crate) enum Stop {
    /// `proc_exit`.
    Exit(i32),
    /// The instance's memory was not attached yet.
    NoMemory,
}

/// A wasm parameter as a WASI function takes it.
trait Param: Sized {
    const TYPE: ValType;
    fn from_val(v: &Val) -> Option<Self>;
}

impl Param for u32 {
    const TYPE: ValType = ValType::I32;
    fn from_val(v: &Val) -> Option<u32> {
        v.i32().map(|x| x as u32)
    }
}

impl Param for u64 {
    const TYPE: ValType = ValType::I64;
    fn from_val(v: &Val) -> Option<u64> {
        v.i64().map(|x| x as u64)
    }
}

macro_rules! wasi_functions {
    ($($name:ident($($param:ident: $ty:ty),*);)*) => {
        /// The names of every function of `wasi_snapshot_preview1`.
        pub const FUNCTION_NAMES: &[&str] = &["proc_exit", $(stringify!($name)),*];

        /// The wasm type of the WASI function `name`.
        pub(crate) fn signature(name: &str) -> Option<FuncType> {
            match name {
                "proc_exit" => Some(FuncType::new([ValType::I32], [])),
                $(stringify!($name) => Some(FuncType::new([$(<$ty as Param>::TYPE),*], [ValType::I32])),)*
                _ => None,
            }
        }

        /// Calls the WASI function `name` with `args` (checked against its type at link time).
        // Each arm's closure gives its parameter conversions a `?` scope.
        #[allow(clippy::redundant_closure_call)]
        pub(crate) fn call(state: &mut State, name: &str, args: &[Val]) -> Result<Errno, Stop> {
            if name == "proc_exit" {
                return Err(Stop::Exit(args.first().and_then(Val::i32).unwrap_or(0)));
            }
            let memory = state.memory.clone().ok_or(Stop::NoMemory)?;
            let guest = Guest::new(&memory);
            let mut args = args.iter();
            let outcome = match name {
                $(stringify!($name) => (|| {
                    $(let $param = args.next().and_then(<$ty as Param>::from_val).ok_or(Errno::Inval)?;)*
                    state.$name(&guest, $($param),*)
                })(),)*
                _ => Err(Errno::NoSys),
            };
            Ok(outcome.err().unwrap_or(Errno::Success))
        }
    };
}

wasi_functions! {
    args_get(argv: u32, argv_buf: u32);
    args_sizes_get(count_ptr: u32, size_ptr: u32);
    environ_get(environ: u32, environ_buf: u32);
    environ_sizes_get(count_ptr: u32, size_ptr: u32);
    clock_res_get(id: u32, out: u32);
    clock_time_get(id: u32, precision: u64, out: u32);
    fd_advise(fd: u32, offset: u64, len: u64, advice: u32);
    fd_allocate(fd: u32, offset: u64, len: u64);
    fd_close(fd: u32);
    fd_datasync(fd: u32);
    fd_fdstat_get(fd: u32, out: u32);
    fd_fdstat_set_flags(fd: u32, flags: u32);
    fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64);
    fd_filestat_get(fd: u32, out: u32);
    fd_filestat_set_size(fd: u32, size: u64);
    fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, fst_flags: u32);
    fd_pread(fd: u32, iovs: u32, iovs_len: u32, offset: u64, out: u32);
    fd_prestat_get(fd: u32, out: u32);
    fd_prestat_dir_name(fd: u32, path: u32, path_len: u32);
    fd_pwrite(fd: u32, iovs: u32, iovs_len: u32, offset: u64, out: u32);
    fd_read(fd: u32, iovs: u32, iovs_len: u32, out: u32);
    fd_readdir(fd: u32, buf: u32, buf_len: u32, cookie: u64, out: u32);
    fd_renumber(fd: u32, to: u32);
    fd_seek(fd: u32, offset: u64, whence: u32, out: u32);
    fd_sync(fd: u32);
    fd_tell(fd: u32, out: u32);
    fd_write(fd: u32, iovs: u32, iovs_len: u32, out: u32);
    path_create_directory(fd: u32, path: u32, path_len: u32);
    path_filestat_get(fd: u32, flags: u32, path: u32, path_len: u32, out: u32);
    path_filestat_set_times(fd: u32, flags: u32, path: u32, path_len: u32, atim: u64, mtim: u64, fst_flags: u32);
    path_link(old_fd: u32, old_flags: u32, old_path: u32, old_len: u32, new_fd: u32, new_path: u32, new_len: u32);
    path_open(fd: u32, dirflags: u32, path: u32, path_len: u32, oflags: u32, base: u64, inheriting: u64, fdflags: u32, out: u32);
    path_readlink(fd: u32, path: u32, path_len: u32, buf: u32, buf_len: u32, out: u32);
    path_remove_directory(fd: u32, path: u32, path_len: u32);
    path_rename(fd: u32, old_path: u32, old_len: u32, new_fd: u32, new_path: u32, new_len: u32);
    path_symlink(old_path: u32, old_len: u32, fd: u32, new_path: u32, new_len: u32);
    path_unlink_file(fd: u32, path: u32, path_len: u32);
    poll_oneoff(subs: u32, events: u32, count: u32, out: u32);
    proc_raise(sig: u32);
    sched_yield();
    random_get(buf: u32, buf_len: u32);
    sock_accept(fd: u32, flags: u32, out: u32);
    sock_recv(fd: u32, iovs: u32, iovs_len: u32, ri_flags: u32, out_len: u32, out_flags: u32);
    sock_send(fd: u32, iovs: u32, iovs_len: u32, si_flags: u32, out: u32);
    sock_shutdown(fd: u32, how: u32);
}

type R = Result<(), Errno>;

/// `lookupflags::symlink_follow`.
const SYMLINK_FOLLOW: u32 = 1;
/// `fdflags`.
const FDFLAGS_APPEND: u16 = 1;
const FDFLAGS_NONBLOCK: u16 = 4;
/// `fstflags`.
const FST_ATIM: u32 = 1;
const FST_ATIM_NOW: u32 = 2;
const FST_MTIM: u32 = 4;
const FST_MTIM_NOW: u32 = 8;

/// A file's attributes (`filestat`, 64 bytes).
struct Filestat {
    dev: u64,
    ino: u64,
    filetype: u8,
    nlink: u64,
    size: u64,
    times: [u64; 3],
}

impl Filestat {
    fn from_stat(st: &rustix::fs::Stat) -> Filestat {
        let ns = |s: i64, n: i64| {
            (s as u64)
                .wrapping_mul(1_000_000_000)
                .wrapping_add(n as u64)
        };
        Filestat {
            dev: st.st_dev,
            ino: st.st_ino,
            filetype: fs::filetype_of(rustix::fs::FileType::from_raw_mode(st.st_mode)),
            nlink: st.st_nlink,
            size: st.st_size as u64,
            times: [
                ns(st.st_atime, st.st_atime_nsec as i64),
                ns(st.st_mtime, st.st_mtime_nsec as i64),
                ns(st.st_ctime, st.st_ctime_nsec as i64),
            ],
        }
    }

    fn from_metadata(m: &cap_std::fs::Metadata) -> Filestat {
        let ns = |s: i64, n: i64| {
            (s as u64)
                .wrapping_mul(1_000_000_000)
                .wrapping_add(n as u64)
        };
        Filestat {
            dev: m.dev(),
            ino: m.ino(),
            filetype: fs::filetype_of(rustix::fs::FileType::from_raw_mode(m.mode())),
            nlink: m.nlink(),
            size: m.size(),
            times: [
                ns(m.atime(), m.atime_nsec()),
                ns(m.mtime(), m.mtime_nsec()),
                ns(m.ctime(), m.ctime_nsec()),
            ],
        }
    }

    fn encode(&self) -> [u8; 64] {
        let mut b = [0; 64];
        b[0..8].copy_from_slice(&self.dev.to_le_bytes());
        b[8..16].copy_from_slice(&self.ino.to_le_bytes());
        b[16] = self.filetype;
        b[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        b[32..40].copy_from_slice(&self.size.to_le_bytes());
        for (i, t) in self.times.iter().enumerate() {
            b[40 + 8 * i..48 + 8 * i].copy_from_slice(&t.to_le_bytes());
        }
        b
    }
}

/// The two new timestamps of a `*_set_times` call (`None`: leave it).
fn time_specs(atim: u64, mtim: u64, flags: u32) -> Result<[Option<SystemTimeSpec>; 2], Errno> {
    let spec = |value: u64, set: u32, now: u32| -> Result<Option<SystemTimeSpec>, Errno> {
        match (flags & set != 0, flags & now != 0) {
            (true, true) => Err(Errno::Inval),
            (_, true) => Ok(Some(SystemTimeSpec::SymbolicNow)),
            (true, false) => Ok(Some(SystemTimeSpec::Absolute(
                cap_std::time::SystemTime::from_std(
                    std::time::UNIX_EPOCH + Duration::from_nanos(value),
                ),
            ))),
            (false, false) => Ok(None),
        }
    };
    if flags & !(FST_ATIM | FST_ATIM_NOW | FST_MTIM | FST_MTIM_NOW) != 0 {
        return Err(Errno::Inval);
    }
    Ok([
        spec(atim, FST_ATIM, FST_ATIM_NOW)?,
        spec(mtim, FST_MTIM, FST_MTIM_NOW)?,
    ])
}

pub(crate) fn clock_id(id: u32) -> Result<rustix::time::ClockId, Errno> {
    use rustix::time::ClockId;
    Ok(match id {
        0 => ClockId::Realtime,
        1 => ClockId::Monotonic,
        2 => ClockId::ProcessCPUTime,
        3 => ClockId::ThreadCPUTime,
        _ => return Err(Errno::Inval),
    })
}

fn timespec_ns(t: rustix::time::Timespec) -> u64 {
    (t.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(t.tv_nsec as u64)
}

/// Writes `list` (NUL-terminated strings) as `argv`/`environ` pointers and buffer.
fn write_strings(g: &Guest<'_>, list: &[String], ptrs: u32, buf: u32) -> R {
    let mut cursor = buf;
    for (i, s) in list.iter().enumerate() {
        g.write_u32(ptrs.wrapping_add(4 * i as u32), cursor)?;
        let mut bytes = s.as_bytes().to_vec();
        bytes.push(0);
        g.write(cursor, &bytes)?;
        cursor = cursor.wrapping_add(bytes.len() as u32);
    }
    Ok(())
}

fn write_sizes(g: &Guest<'_>, list: &[String], count_ptr: u32, size_ptr: u32) -> R {
    g.write_u32(count_ptr, list.len() as u32)?;
    let size: usize = list.iter().map(|s| s.len() + 1).sum();
    g.write_u32(size_ptr, size as u32)
}

impl Fd {
    fn file(&self) -> Result<&std::fs::File, Errno> {
        match &self.kind {
            FdKind::File(f) => Ok(f),
            _ => Err(Errno::Badf),
        }
    }

    fn need(&self, right: u64) -> R {
        if self.rights_base & right == right {
            Ok(())
        } else {
            Err(Errno::NotCapable)
        }
    }

    /// The host descriptor, for stat and flag calls.
    fn host_fd(&self) -> Result<std::os::fd::BorrowedFd<'_>, Errno> {
        use std::os::fd::AsFd;
        match &self.kind {
            FdKind::File(f) => Ok(f.as_fd()),
            FdKind::Dir { dir, .. } => Ok(dir.as_fd()),
            FdKind::Stdin(Input::Inherit) => Ok(rustix::stdio::stdin()),
            FdKind::Stdout(fs::Output::Inherit) => Ok(rustix::stdio::stdout()),
            FdKind::Stderr(fs::Output::Inherit) => Ok(rustix::stdio::stderr()),
            _ => Err(Errno::NotSup),
        }
    }

    fn filetype(&self) -> u8 {
        match &self.kind {
            FdKind::Dir { .. } => filetype::DIRECTORY,
            FdKind::File(_) => filetype::REGULAR_FILE,
            _ => match self.host_fd().and_then(|fd| Ok(rustix::fs::fstat(fd)?)) {
                Ok(st) => match fs::filetype_of(rustix::fs::FileType::from_raw_mode(st.st_mode)) {
                    filetype::UNKNOWN => filetype::CHARACTER_DEVICE,
                    other => other,
                },
                Err(_) => filetype::CHARACTER_DEVICE,
            },
        }
    }
}

impl State {
    fn args_get(&mut self, g: &Guest<'_>, argv: u32, argv_buf: u32) -> R {
        write_strings(g, &self.args, argv, argv_buf)
    }

    fn args_sizes_get(&mut self, g: &Guest<'_>, count_ptr: u32, size_ptr: u32) -> R {
        write_sizes(g, &self.args, count_ptr, size_ptr)
    }

    fn environ_get(&mut self, g: &Guest<'_>, environ: u32, environ_buf: u32) -> R {
        write_strings(g, &self.env, environ, environ_buf)
    }

    fn environ_sizes_get(&mut self, g: &Guest<'_>, count_ptr: u32, size_ptr: u32) -> R {
        write_sizes(g, &self.env, count_ptr, size_ptr)
    }

    fn clock_res_get(&mut self, g: &Guest<'_>, id: u32, out: u32) -> R {
        let res = rustix::time::clock_getres(clock_id(id)?);
        g.write_u64(out, timespec_ns(res).max(1))
    }

    fn clock_time_get(&mut self, g: &Guest<'_>, id: u32, _precision: u64, out: u32) -> R {
        g.write_u64(out, timespec_ns(rustix::time::clock_gettime(clock_id(id)?)))
    }

    fn fd_advise(&mut self, _g: &Guest<'_>, fd: u32, _offset: u64, _len: u64, advice: u32) -> R {
        let entry = self.fds.get(fd)?;
        entry.file()?;
        if advice > 5 {
            return Err(Errno::Inval);
        }
        // Advice is a hint; the host page cache decides.
        Ok(())
    }

    fn fd_allocate(&mut self, _g: &Guest<'_>, fd: u32, offset: u64, len: u64) -> R {
        let entry = self.fds.get(fd)?;
        let file = entry.file()?;
        entry.need(rights::FD_ALLOCATE)?;
        let end = offset.checked_add(len).ok_or(Errno::Fbig)?;
        if end > file.metadata()?.len() {
            file.set_len(end)?;
        }
        Ok(())
    }

    fn fd_close(&mut self, _g: &Guest<'_>, fd: u32) -> R {
        self.fds.remove(fd).map(drop)
    }

    fn fd_datasync(&mut self, _g: &Guest<'_>, fd: u32) -> R {
        let entry = self.fds.get(fd)?;
        match &entry.kind {
            FdKind::File(f) => Ok(f.sync_data()?),
            FdKind::Dir { dir, .. } => Ok(rustix::fs::fdatasync(dir)?),
            _ => Err(Errno::Inval),
        }
    }

    fn fd_sync(&mut self, _g: &Guest<'_>, fd: u32) -> R {
        let entry = self.fds.get(fd)?;
        match &entry.kind {
            FdKind::File(f) => Ok(f.sync_all()?),
            FdKind::Dir { dir, .. } => Ok(rustix::fs::fsync(dir)?),
            _ => Err(Errno::Inval),
        }
    }

    fn fd_fdstat_get(&mut self, g: &Guest<'_>, fd: u32, out: u32) -> R {
        let entry = self.fds.get(fd)?;
        let mut b = [0u8; 24];
        b[0] = entry.filetype();
        b[2..4].copy_from_slice(&entry.flags.to_le_bytes());
        b[8..16].copy_from_slice(&entry.rights_base.to_le_bytes());
        b[16..24].copy_from_slice(&entry.rights_inheriting.to_le_bytes());
        g.write(out, &b)
    }

    fn fd_fdstat_set_flags(&mut self, _g: &Guest<'_>, fd: u32, flags: u32) -> R {
        let entry = self.fds.get_mut(fd)?;
        let flags = u16::try_from(flags).map_err(|_| Errno::Inval)?;
        if flags & !(FDFLAGS_APPEND | FDFLAGS_NONBLOCK) != 0 {
            // The sync flags are chosen at open and cannot change.
            return Err(Errno::NotSup);
        }
        if let FdKind::File(f) = &entry.kind {
            use rustix::fs::OFlags;
            let mut host = rustix::fs::fcntl_getfl(f)?;
            host.set(OFlags::APPEND, flags & FDFLAGS_APPEND != 0);
            host.set(OFlags::NONBLOCK, flags & FDFLAGS_NONBLOCK != 0);
            rustix::fs::fcntl_setfl(f, host)?;
        }
        entry.flags = flags;
        Ok(())
    }

    fn fd_fdstat_set_rights(&mut self, _g: &Guest<'_>, fd: u32, base: u64, inheriting: u64) -> R {
        let entry = self.fds.get_mut(fd)?;
        if base & !entry.rights_base != 0 || inheriting & !entry.rights_inheriting != 0 {
            return Err(Errno::NotCapable);
        }
        entry.rights_base = base;
        entry.rights_inheriting = inheriting;
        Ok(())
    }

    fn fd_filestat_get(&mut self, g: &Guest<'_>, fd: u32, out: u32) -> R {
        let entry = self.fds.get(fd)?;
        let stat = match entry.host_fd() {
            Ok(host) => Filestat::from_stat(&rustix::fs::fstat(host)?),
            Err(_) => Filestat {
                dev: 0,
                ino: 0,
                filetype: entry.filetype(),
                nlink: 1,
                size: 0,
                times: [0; 3],
            },
        };
        g.write(out, &stat.encode())
    }

    fn fd_filestat_set_size(&mut self, _g: &Guest<'_>, fd: u32, size: u64) -> R {
        let entry = self.fds.get(fd)?;
        let file = entry.file()?;
        entry.need(rights::FD_FILESTAT_SET_SIZE)?;
        Ok(file.set_len(size)?)
    }

    fn fd_filestat_set_times(
        &mut self,
        _g: &Guest<'_>,
        fd: u32,
        atim: u64,
        mtim: u64,
        fst: u32,
    ) -> R {
        let entry = self.fds.get(fd)?;
        let [atime, mtime] = time_specs(atim, mtim, fst)?;
        let ts = |spec: Option<SystemTimeSpec>| match spec {
            None => rustix::fs::Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_OMIT,
            },
            Some(SystemTimeSpec::SymbolicNow) => rustix::fs::Timespec {
                tv_sec: 0,
                tv_nsec: rustix::fs::UTIME_NOW,
            },
            Some(SystemTimeSpec::Absolute(t)) => {
                let d = t
                    .into_std()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                rustix::fs::Timespec {
                    tv_sec: d.as_secs() as i64,
                    tv_nsec: i64::from(d.subsec_nanos()),
                }
            }
        };
        let times = rustix::fs::Timestamps {
            last_access: ts(atime),
            last_modification: ts(mtime),
        };
        Ok(rustix::fs::futimens(entry.host_fd()?, &times)?)
    }

    fn fd_pread(
        &mut self,
        g: &Guest<'_>,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        offset: u64,
        out: u32,
    ) -> R {
        // The result pointer first: a fault must not follow a transfer that happened.
        g.check(out, 4)?;
        let entry = self.fds.get(fd)?;
        let file = entry.file()?;
        entry.need(rights::FD_READ)?;
        let (targets, total) = g.scatter_targets(iovs, iovs_len)?;
        let mut buf = vec![0; total];
        let n = file.read_at(&mut buf, offset)?;
        g.scatter(&targets, &buf[..n])?;
        g.write_u32(out, n as u32)
    }

    fn fd_pwrite(
        &mut self,
        g: &Guest<'_>,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        offset: u64,
        out: u32,
    ) -> R {
        // The result pointer first: a fault must not follow a transfer that happened.
        g.check(out, 4)?;
        let entry = self.fds.get(fd)?;
        let file = entry.file()?;
        entry.need(rights::FD_WRITE)?;
        let data = g.gather(iovs, iovs_len)?;
        let n = file.write_at(&data, offset)?;
        g.write_u32(out, n as u32)
    }

    fn fd_prestat_get(&mut self, g: &Guest<'_>, fd: u32, out: u32) -> R {
        match &self.fds.get(fd)?.kind {
            FdKind::Dir {
                preopen: Some(name),
                ..
            } => {
                let mut b = [0u8; 8];
                b[4..8].copy_from_slice(&(name.len() as u32).to_le_bytes());
                g.write(out, &b)
            }
            _ => Err(Errno::Badf),
        }
    }

    fn fd_prestat_dir_name(&mut self, g: &Guest<'_>, fd: u32, path: u32, path_len: u32) -> R {
        match &self.fds.get(fd)?.kind {
            FdKind::Dir {
                preopen: Some(name),
                ..
            } => {
                if (path_len as usize) < name.len() {
                    return Err(Errno::NameTooLong);
                }
                g.write(path, name.as_bytes())
            }
            _ => Err(Errno::Badf),
        }
    }

    fn fd_read(&mut self, g: &Guest<'_>, fd: u32, iovs: u32, iovs_len: u32, out: u32) -> R {
        // The result pointer first: a fault must not follow a transfer that happened.
        g.check(out, 4)?;
        let entry = self.fds.get_mut(fd)?;
        entry.need(rights::FD_READ)?;
        let (targets, total) = g.scatter_targets(iovs, iovs_len)?;
        let mut buf = vec![0; total];
        let n = match &mut entry.kind {
            FdKind::Stdin(input) => input.read(&mut buf)?,
            FdKind::File(f) => f.read(&mut buf)?,
            _ => return Err(Errno::Badf),
        };
        g.scatter(&targets, &buf[..n])?;
        g.write_u32(out, n as u32)
    }

    fn fd_write(&mut self, g: &Guest<'_>, fd: u32, iovs: u32, iovs_len: u32, out: u32) -> R {
        // The result pointer first: a fault must not follow a transfer that happened.
        g.check(out, 4)?;
        let entry = self.fds.get_mut(fd)?;
        entry.need(rights::FD_WRITE)?;
        let data = g.gather(iovs, iovs_len)?;
        let n = match &mut entry.kind {
            FdKind::Stdout(o) => o.write(&data, false)?,
            FdKind::Stderr(o) => o.write(&data, true)?,
            FdKind::File(f) => f.write(&data)?,
            _ => return Err(Errno::Badf),
        };
        g.write_u32(out, n as u32)
    }

    fn fd_readdir(
        &mut self,
        g: &Guest<'_>,
        fd: u32,
        buf: u32,
        buf_len: u32,
        cookie: u64,
        out: u32,
    ) -> R {
        let entry = self.fds.get_mut(fd)?;
        let FdKind::Dir { dir, listing, .. } = &mut entry.kind else {
            return Err(Errno::NotDir);
        };
        if cookie == 0 || listing.is_empty() {
            *listing = fs::list_dir(dir)?;
        }
        let mut bytes = Vec::new();
        let start = usize::try_from(cookie).unwrap_or(usize::MAX);
        for (i, e) in listing.iter().enumerate().skip(start) {
            if bytes.len() >= buf_len as usize {
                break;
            }
            bytes.extend_from_slice(&(i as u64 + 1).to_le_bytes());
            bytes.extend_from_slice(&e.ino.to_le_bytes());
            bytes.extend_from_slice(&(e.name.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&[e.filetype, 0, 0, 0]);
            bytes.extend_from_slice(&e.name);
        }
        bytes.truncate(buf_len as usize);
        g.write(buf, &bytes)?;
        g.write_u32(out, bytes.len() as u32)
    }

    fn fd_renumber(&mut self, _g: &Guest<'_>, fd: u32, to: u32) -> R {
        self.fds.renumber(fd, to)
    }

    fn fd_seek(&mut self, g: &Guest<'_>, fd: u32, offset: u64, whence: u32, out: u32) -> R {
        let entry = self.fds.get_mut(fd)?;
        let FdKind::File(f) = &mut entry.kind else {
            return Err(match entry.kind {
                FdKind::Dir { .. } => Errno::Badf,
                _ => Errno::Spipe,
            });
        };
        let from = match whence {
            0 => SeekFrom::Start(offset),
            1 => SeekFrom::Current(offset as i64),
            2 => SeekFrom::End(offset as i64),
            _ => return Err(Errno::Inval),
        };
        let pos = f.seek(from)?;
        g.write_u64(out, pos)
    }

    fn fd_tell(&mut self, g: &Guest<'_>, fd: u32, out: u32) -> R {
        let entry = self.fds.get_mut(fd)?;
        let FdKind::File(f) = &mut entry.kind else {
            return Err(match entry.kind {
                FdKind::Dir { .. } => Errno::Badf,
                _ => Errno::Spipe,
            });
        };
        let pos = f.stream_position()?;
        g.write_u64(out, pos)
    }

    fn path_create_directory(&mut self, g: &Guest<'_>, fd: u32, path: u32, path_len: u32) -> R {
        let path = g.read_str(path, path_len)?;
        Ok(self.fds.writable_dir(fd)?.create_dir(path)?)
    }

    fn path_filestat_get(
        &mut self,
        g: &Guest<'_>,
        fd: u32,
        flags: u32,
        path: u32,
        path_len: u32,
        out: u32,
    ) -> R {
        let path = g.read_str(path, path_len)?;
        let (dir, _) = self.fds.dir(fd)?;
        let meta = if flags & SYMLINK_FOLLOW != 0 {
            dir.metadata(path)?
        } else {
            dir.symlink_metadata(path)?
        };
        g.write(out, &Filestat::from_metadata(&meta).encode())
    }

    fn path_filestat_set_times(
        &mut self,
        g: &Guest<'_>,
        fd: u32,
        flags: u32,
        path: u32,
        path_len: u32,
        atim: u64,
        mtim: u64,
        fst: u32,
    ) -> R {
        let path = g.read_str(path, path_len)?;
        let [atime, mtime] = time_specs(atim, mtim, fst)?;
        let dir = self.fds.writable_dir(fd)?;
        if flags & SYMLINK_FOLLOW != 0 {
            Ok(dir.set_times(path, atime, mtime)?)
        } else {
            Ok(dir.set_symlink_times(path, atime, mtime)?)
        }
    }

    fn path_link(
        &mut self,
        g: &Guest<'_>,
        old_fd: u32,
        old_flags: u32,
        old_path: u32,
        old_len: u32,
        new_fd: u32,
        new_path: u32,
        new_len: u32,
    ) -> R {
        let old_path = g.read_str(old_path, old_len)?;
        let new_path = g.read_str(new_path, new_len)?;
        if old_flags & SYMLINK_FOLLOW != 0 {
            // Linking the target of a symlink is not portable; WASI hosts refuse it.
            return Err(Errno::Inval);
        }
        let old_dir = self.fds.dir(old_fd)?.0;
        let new_dir = self.fds.writable_dir(new_fd)?;
        Ok(old_dir.hard_link(old_path, new_dir, new_path)?)
    }

    fn path_open(
        &mut self,
        g: &Guest<'_>,
        fd: u32,
        dirflags: u32,
        path: u32,
        path_len: u32,
        oflags: u32,
        base: u64,
        inheriting: u64,
        fdflags: u32,
        out: u32,
    ) -> R {
        const CREAT: u32 = 1;
        const DIRECTORY: u32 = 2;
        const EXCL: u32 = 4;
        const TRUNC: u32 = 8;
        let path = g.read_str(path, path_len)?;
        let parent = self.fds.get(fd)?;
        let (dir, readonly) = self.fds.dir(fd)?;
        let fdflags = u16::try_from(fdflags).map_err(|_| Errno::Inval)?;
        let follow = dirflags & SYMLINK_FOLLOW != 0;
        let append = fdflags & FDFLAGS_APPEND != 0;
        let write = append
            || oflags & TRUNC != 0
            || base & (rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE) != 0;
        if readonly && (write || oflags & CREAT != 0) {
            return Err(Errno::Rofs);
        }
        let needed = rights::PATH_OPEN
            | if oflags & CREAT != 0 {
                rights::PATH_CREATE_FILE
            } else {
                0
            }
            | if oflags & TRUNC != 0 {
                rights::PATH_FILESTAT_SET_SIZE
            } else {
                0
            };
        parent.need(needed)?;
        let base = base & parent.rights_inheriting;
        let inheriting = inheriting & parent.rights_inheriting;
        let kind = if oflags & DIRECTORY != 0 {
            if oflags & (CREAT | TRUNC) != 0 {
                return Err(Errno::Inval);
            }
            if write {
                return Err(Errno::IsDir);
            }
            let opened = if follow {
                dir.open_dir(&path)?
            } else {
                dir.open_dir_nofollow(&path)?
            };
            fs_dir(opened)
        } else {
            let mut opts = cap_std::fs::OpenOptions::new();
            opts.read(true).write(write || oflags & CREAT != 0);
            if oflags & CREAT != 0 {
                if oflags & EXCL != 0 {
                    opts.create_new(true);
                } else {
                    opts.create(true);
                }
            }
            opts.truncate(oflags & TRUNC != 0);
            if append {
                // As a flag, not `append(true)`: std refuses append with truncate.
                cap_std::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_APPEND);
            }
            opts.follow(if follow {
                cap_fs_ext::FollowSymlinks::Yes
            } else {
                cap_fs_ext::FollowSymlinks::No
            });
            opts.maybe_dir(!write && oflags & CREAT == 0);
            let file = dir.open_with(&path, &opts)?;
            let file = file.into_std();
            if file.metadata()?.is_dir() {
                fs_dir(cap_std::fs::Dir::from_std_file(file))
            } else {
                if fdflags & FDFLAGS_NONBLOCK != 0 {
                    let flags = rustix::fs::fcntl_getfl(&file)? | rustix::fs::OFlags::NONBLOCK;
                    rustix::fs::fcntl_setfl(&file, flags)?;
                }
                FdKind::File(file)
            }
        };
        let base = match kind {
            FdKind::Dir { .. } => base & rights::DIRECTORY,
            _ => base & rights::FILE,
        };
        let new = self.fds.insert(Fd {
            kind,
            rights_base: base,
            rights_inheriting: inheriting,
            flags: fdflags,
            readonly,
        })?;
        g.write_u32(out, new)
    }

    fn path_readlink(
        &mut self,
        g: &Guest<'_>,
        fd: u32,
        path: u32,
        path_len: u32,
        buf: u32,
        buf_len: u32,
        out: u32,
    ) -> R {
        use std::os::unix::ffi::OsStrExt;
        let path = g.read_str(path, path_len)?;
        let (dir, _) = self.fds.dir(fd)?;
        let target = dir.read_link_contents(path)?;
        let bytes = target.as_os_str().as_bytes();
        let n = bytes.len().min(buf_len as usize);
        g.write(buf, &bytes[..n])?;
        g.write_u32(out, n as u32)
    }

    fn path_remove_directory(&mut self, g: &Guest<'_>, fd: u32, path: u32, path_len: u32) -> R {
        let path = g.read_str(path, path_len)?;
        Ok(self.fds.writable_dir(fd)?.remove_dir(path)?)
    }

    fn path_rename(
        &mut self,
        g: &Guest<'_>,
        fd: u32,
        old_path: u32,
        old_len: u32,
        new_fd: u32,
        new_path: u32,
        new_len: u32,
    ) -> R {
        let old_path = g.read_str(old_path, old_len)?;
        let new_path = g.read_str(new_path, new_len)?;
        let old_dir = self.fds.writable_dir(fd)?;
        let new_dir = self.fds.writable_dir(new_fd)?;
        Ok(old_dir.rename(old_path, new_dir, new_path)?)
    }

    fn path_symlink(
        &mut self,
        g: &Guest<'_>,
        old_path: u32,
        old_len: u32,
        fd: u32,
        new_path: u32,
        new_len: u32,
    ) -> R {
        let old_path = g.read_str(old_path, old_len)?;
        let new_path = g.read_str(new_path, new_len)?;
        let dir = self.fds.writable_dir(fd)?;
        Ok(DirExt::symlink(dir, old_path, new_path)?)
    }

    fn path_unlink_file(&mut self, g: &Guest<'_>, fd: u32, path: u32, path_len: u32) -> R {
        let path = g.read_str(path, path_len)?;
        Ok(self.fds.writable_dir(fd)?.remove_file(path)?)
    }

    fn poll_oneoff(&mut self, g: &Guest<'_>, subs: u32, events: u32, count: u32, out: u32) -> R {
        crate::poll::poll_oneoff(self, g, subs, events, count, out)
    }

    fn proc_raise(&mut self, _g: &Guest<'_>, _sig: u32) -> R {
        Err(Errno::NotSup)
    }

    fn sched_yield(&mut self, _g: &Guest<'_>) -> R {
        std::thread::yield_now();
        Ok(())
    }

    fn random_get(&mut self, g: &Guest<'_>, buf: u32, buf_len: u32) -> R {
        g.check(buf, buf_len)?;
        let mut bytes = vec![0u8; buf_len as usize];
        let mut filled = 0;
        while filled < bytes.len() {
            filled += rustix::rand::getrandom(
                &mut bytes[filled..],
                rustix::rand::GetRandomFlags::empty(),
            )?;
        }
        g.write(buf, &bytes)
    }

    fn sock_accept(&mut self, _g: &Guest<'_>, fd: u32, _flags: u32, _out: u32) -> R {
        self.no_socket(fd)
    }

    fn sock_recv(
        &mut self,
        _g: &Guest<'_>,
        fd: u32,
        _iovs: u32,
        _len: u32,
        _flags: u32,
        _out_len: u32,
        _out_flags: u32,
    ) -> R {
        self.no_socket(fd)
    }

    fn sock_send(
        &mut self,
        _g: &Guest<'_>,
        fd: u32,
        _iovs: u32,
        _len: u32,
        _flags: u32,
        _out: u32,
    ) -> R {
        self.no_socket(fd)
    }

    fn sock_shutdown(&mut self, _g: &Guest<'_>, fd: u32, _how: u32) -> R {
        self.no_socket(fd)
    }

    /// No socket is ever pre-opened: every descriptor is `EBADF` or `ENOTSOCK`.
    fn no_socket(&self, fd: u32) -> R {
        self.fds.get(fd)?;
        Err(Errno::NotSock)
    }
}

fn fs_dir(dir: cap_std::fs::Dir) -> FdKind {
    FdKind::Dir {
        dir,
        preopen: None,
        listing: Vec::new(),
    }
}
