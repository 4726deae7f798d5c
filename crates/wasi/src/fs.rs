//! The guest's file descriptor table: stdio (inherited, captured or null), open files and
//! directories (cap-std handles, so every path resolves beneath them), and the pre-opens.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;

use crate::errno::Errno;

/// Where stdin comes from.
#[derive(Default)]
pub(crate) enum Input {
    /// Reads end of file at once.
    #[default]
    Null,
    /// The process's stdin.
    Inherit,
    /// Fixed bytes.
    Bytes { data: Vec<u8>, pos: usize },
}

/// Where stdout or stderr go.
#[derive(Default)]
pub(crate) enum Output {
    /// Discarded.
    #[default]
    Null,
    /// The process's stream.
    Inherit,
    /// A buffer the host reads.
    Capture(Rc<RefCell<Vec<u8>>>),
}

/// A directory pre-opened under a guest name.
pub(crate) struct Preopen {
    pub(crate) dir: cap_std::fs::Dir,
    pub(crate) guest: String,
    pub(crate) readonly: bool,
}

/// One directory entry as `fd_readdir` returns it.
pub(crate) struct DirEntry {
    pub(crate) ino: u64,
    pub(crate) filetype: u8,
    pub(crate) name: Vec<u8>,
}

/// What a descriptor designates.
pub(crate) enum FdKind {
    Stdin(Input),
    Stdout(Output),
    Stderr(Output),
    File(std::fs::File),
    Dir {
        dir: cap_std::fs::Dir,
        /// The guest name, for pre-opens.
        preopen: Option<String>,
        /// The listing `fd_readdir` cookies index into, read again at cookie 0.
        listing: Vec<DirEntry>,
    },
}

/// An open descriptor.
pub(crate) struct Fd {
    pub(crate) kind: FdKind,
    pub(crate) rights_base: u64,
    pub(crate) rights_inheriting: u64,
    /// `fdflags` (append, nonblock, ...) as the guest set them.
    pub(crate) flags: u16,
    /// Beneath a read-only pre-open.
    pub(crate) readonly: bool,
}

/// `filetype` values.
pub(crate) mod filetype {
    pub(crate) const UNKNOWN: u8 = 0;
    pub(crate) const BLOCK_DEVICE: u8 = 1;
    pub(crate) const CHARACTER_DEVICE: u8 = 2;
    pub(crate) const DIRECTORY: u8 = 3;
    pub(crate) const REGULAR_FILE: u8 = 4;
    pub(crate) const SOCKET_STREAM: u8 = 6;
    pub(crate) const SYMBOLIC_LINK: u8 = 7;
}

/// `rights` bits.
pub(crate) mod rights {
    pub(crate) const FD_DATASYNC: u64 = 1 << 0;
    pub(crate) const FD_READ: u64 = 1 << 1;
    pub(crate) const FD_SEEK: u64 = 1 << 2;
    pub(crate) const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub(crate) const FD_SYNC: u64 = 1 << 4;
    pub(crate) const FD_TELL: u64 = 1 << 5;
    pub(crate) const FD_WRITE: u64 = 1 << 6;
    pub(crate) const FD_ADVISE: u64 = 1 << 7;
    pub(crate) const FD_ALLOCATE: u64 = 1 << 8;
    pub(crate) const PATH_CREATE_FILE: u64 = 1 << 10;
    pub(crate) const PATH_OPEN: u64 = 1 << 13;
    pub(crate) const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub(crate) const FD_FILESTAT_GET: u64 = 1 << 21;
    pub(crate) const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub(crate) const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub(crate) const POLL_FD_READWRITE: u64 = 1 << 27;
    /// Every right.
    pub(crate) const ALL: u64 = (1 << 30) - 1;
    /// Rights of a regular file.
    pub(crate) const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// Rights of a directory: everything but the file-only ones.
    pub(crate) const DIRECTORY: u64 = ALL
        & !(FD_READ
            | FD_SEEK
            | FD_TELL
            | FD_WRITE
            | FD_ADVISE
            | FD_ALLOCATE
            | FD_FILESTAT_SET_SIZE
            | POLL_FD_READWRITE);
    /// Rights of stdio.
    pub(crate) const STDIO: u64 =
        FD_READ | FD_WRITE | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
}

/// The table, indexed by descriptor number.
pub(crate) struct FdTable {
    fds: Vec<Option<Fd>>,
}

impl FdTable {
    pub(crate) fn new(
        stdin: Input,
        stdout: Output,
        stderr: Output,
        preopens: Vec<Preopen>,
    ) -> Self {
        let stdio = |kind| {
            Some(Fd {
                kind,
                rights_base: rights::STDIO,
                rights_inheriting: 0,
                flags: 0,
                readonly: false,
            })
        };
        let mut fds = vec![
            stdio(FdKind::Stdin(stdin)),
            stdio(FdKind::Stdout(stdout)),
            stdio(FdKind::Stderr(stderr)),
        ];
        for p in preopens {
            fds.push(Some(Fd {
                kind: FdKind::Dir {
                    dir: p.dir,
                    preopen: Some(p.guest),
                    listing: Vec::new(),
                },
                rights_base: rights::DIRECTORY,
                rights_inheriting: rights::ALL,
                flags: 0,
                readonly: p.readonly,
            }));
        }
        FdTable { fds }
    }

    pub(crate) fn get(&self, fd: u32) -> Result<&Fd, Errno> {
        self.fds
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::Badf)
    }

    pub(crate) fn get_mut(&mut self, fd: u32) -> Result<&mut Fd, Errno> {
        self.fds
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::Badf)
    }

    /// The directory behind `fd` and whether it is read-only (`ENOTDIR` for other descriptors).
    pub(crate) fn dir(&self, fd: u32) -> Result<(&cap_std::fs::Dir, bool), Errno> {
        let entry = self.get(fd)?;
        match &entry.kind {
            FdKind::Dir { dir, .. } => Ok((dir, entry.readonly)),
            _ => Err(Errno::NotDir),
        }
    }

    /// The directory behind `fd`, which must be writable (`EROFS` beneath a read-only pre-open).
    pub(crate) fn writable_dir(&self, fd: u32) -> Result<&cap_std::fs::Dir, Errno> {
        match self.dir(fd)? {
            (_, true) => Err(Errno::Rofs),
            (dir, false) => Ok(dir),
        }
    }

    /// Adds a descriptor at the lowest free number.
    pub(crate) fn insert(&mut self, fd: Fd) -> Result<u32, Errno> {
        let index = match self.fds.iter().position(Option::is_none) {
            Some(i) => {
                self.fds[i] = Some(fd);
                i
            }
            None => {
                self.fds.push(Some(fd));
                self.fds.len() - 1
            }
        };
        u32::try_from(index).map_err(|_| Errno::Mfile)
    }

    pub(crate) fn remove(&mut self, fd: u32) -> Result<Fd, Errno> {
        self.fds
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(Errno::Badf)
    }

    /// `fd_renumber`: moves `from` onto `to`, closing what `to` held.
    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.get(to)?;
        let entry = self.remove(from)?;
        self.fds[to as usize] = Some(entry);
        Ok(())
    }
}

impl Input {
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        match self {
            Input::Null => Ok(0),
            Input::Inherit => std::io::stdin().lock().read(buf).map_err(Errno::from),
            Input::Bytes { data, pos } => {
                let n = buf.len().min(data.len() - *pos);
                buf[..n].copy_from_slice(&data[*pos..*pos + n]);
                *pos += n;
                Ok(n)
            }
        }
    }
}

impl Output {
    pub(crate) fn write(&mut self, data: &[u8], stderr: bool) -> Result<usize, Errno> {
        match self {
            Output::Null => {}
            Output::Inherit if stderr => {
                let mut err = std::io::stderr().lock();
                err.write_all(data)?;
                err.flush()?;
            }
            Output::Inherit => {
                let mut out = std::io::stdout().lock();
                out.write_all(data)?;
                out.flush()?;
            }
            Output::Capture(buffer) => buffer.borrow_mut().extend_from_slice(data),
        }
        Ok(data.len())
    }
}

/// The WASI `filetype` of a host file type.
pub(crate) fn filetype_of(ft: rustix::fs::FileType) -> u8 {
    use rustix::fs::FileType as T;
    match ft {
        T::RegularFile => filetype::REGULAR_FILE,
        T::Directory => filetype::DIRECTORY,
        T::Symlink => filetype::SYMBOLIC_LINK,
        T::CharacterDevice => filetype::CHARACTER_DEVICE,
        T::BlockDevice => filetype::BLOCK_DEVICE,
        T::Socket => filetype::SOCKET_STREAM,
        _ => filetype::UNKNOWN,
    }
}

/// Reads the whole listing of `dir`, `.` and `..` first.
pub(crate) fn list_dir(dir: &cap_std::fs::Dir) -> Result<Vec<DirEntry>, Errno> {
    let mut entries = Vec::new();
    // Directories are opened `O_PATH`; listing needs a readable descriptor of the same one.
    let mut readable = cap_std::fs::OpenOptions::new();
    cap_fs_ext::OpenOptionsMaybeDirExt::maybe_dir(readable.read(true), true);
    let handle = dir.open_with(".", &readable)?;
    let mut reader = rustix::fs::Dir::read_from(&handle)?;
    while let Some(entry) = reader.read() {
        let entry = entry?;
        entries.push(DirEntry {
            ino: entry.ino(),
            filetype: filetype_of(entry.file_type()),
            name: entry.file_name().to_bytes().to_vec(),
        });
    }
    entries.sort_by_key(|e| (e.name != b".", e.name != b".."));
    Ok(entries)
}
