//! WASI error numbers (`errno`) and the exact mapping of host errors onto them.

use std::io;

macro_rules! errnos {
    ($($variant:ident = $value:literal $(, $host:ident)?;)*) => {
        /// A WASI preview 1 error number (the `errno` the functions return).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u16)]
        pub enum Errno {
            $(#[doc = concat!("`", stringify!($variant), "`")] $variant = $value,)*
        }

        impl Errno {
            /// The WASI errno of a host `errno` value (`EIO` for one WASI has no name for).
            pub fn from_host(code: i32) -> Errno {
                $($(if code == libc::$host { return Errno::$variant; })?)*
                Errno::Io
            }
        }
    };
}

errnos! {
    Success = 0;
    TooBig = 1, E2BIG;
    Acces = 2, EACCES;
    AddrInUse = 3, EADDRINUSE;
    AddrNotAvail = 4, EADDRNOTAVAIL;
    AfNoSupport = 5, EAFNOSUPPORT;
    Again = 6, EAGAIN;
    Already = 7, EALREADY;
    Badf = 8, EBADF;
    BadMsg = 9, EBADMSG;
    Busy = 10, EBUSY;
    Canceled = 11, ECANCELED;
    Child = 12, ECHILD;
    ConnAborted = 13, ECONNABORTED;
    ConnRefused = 14, ECONNREFUSED;
    ConnReset = 15, ECONNRESET;
    Deadlk = 16, EDEADLK;
    DestAddrReq = 17, EDESTADDRREQ;
    Dom = 18, EDOM;
    Dquot = 19, EDQUOT;
    Exist = 20, EEXIST;
    Fault = 21, EFAULT;
    Fbig = 22, EFBIG;
    HostUnreach = 23, EHOSTUNREACH;
    Idrm = 24, EIDRM;
    Ilseq = 25, EILSEQ;
    InProgress = 26, EINPROGRESS;
    Intr = 27, EINTR;
    Inval = 28, EINVAL;
    Io = 29, EIO;
    IsConn = 30, EISCONN;
    IsDir = 31, EISDIR;
    Loop = 32, ELOOP;
    Mfile = 33, EMFILE;
    Mlink = 34, EMLINK;
    MsgSize = 35, EMSGSIZE;
    Multihop = 36, EMULTIHOP;
    NameTooLong = 37, ENAMETOOLONG;
    NetDown = 38, ENETDOWN;
    NetReset = 39, ENETRESET;
    NetUnreach = 40, ENETUNREACH;
    Nfile = 41, ENFILE;
    NoBufs = 42, ENOBUFS;
    NoDev = 43, ENODEV;
    NoEnt = 44, ENOENT;
    NoExec = 45, ENOEXEC;
    NoLck = 46, ENOLCK;
    NoLink = 47, ENOLINK;
    NoMem = 48, ENOMEM;
    NoMsg = 49, ENOMSG;
    NoProtoOpt = 50, ENOPROTOOPT;
    NoSpc = 51, ENOSPC;
    NoSys = 52, ENOSYS;
    NotConn = 53, ENOTCONN;
    NotDir = 54, ENOTDIR;
    NotEmpty = 55, ENOTEMPTY;
    NotRecoverable = 56, ENOTRECOVERABLE;
    NotSock = 57, ENOTSOCK;
    NotSup = 58, EOPNOTSUPP;
    NoTty = 59, ENOTTY;
    Nxio = 60, ENXIO;
    Overflow = 61, EOVERFLOW;
    OwnerDead = 62, EOWNERDEAD;
    Perm = 63, EPERM;
    Pipe = 64, EPIPE;
    Proto = 65, EPROTO;
    ProtoNoSupport = 66, EPROTONOSUPPORT;
    ProtoType = 67, EPROTOTYPE;
    Range = 68, ERANGE;
    Rofs = 69, EROFS;
    Spipe = 70, ESPIPE;
    Srch = 71, ESRCH;
    Stale = 72, ESTALE;
    TimedOut = 73, ETIMEDOUT;
    TxtBsy = 74, ETXTBSY;
    Xdev = 75, EXDEV;
    NotCapable = 76;
}

impl From<io::Error> for Errno {
    /// The host's errno when there is one; otherwise by kind. cap-std reports a path that would
    /// leave its directory (`..` climbing out, an absolute path, a symlink pointing outside) as
    /// `PermissionDenied` without an OS code: that is WASI's `ENOTCAPABLE`.
    fn from(err: io::Error) -> Errno {
        if let Some(code) = err.raw_os_error() {
            return Errno::from_host(code);
        }
        match err.kind() {
            io::ErrorKind::NotFound => Errno::NoEnt,
            io::ErrorKind::PermissionDenied => Errno::NotCapable,
            io::ErrorKind::AlreadyExists => Errno::Exist,
            io::ErrorKind::InvalidInput => Errno::Inval,
            io::ErrorKind::Unsupported => Errno::NotSup,
            io::ErrorKind::NotADirectory => Errno::NotDir,
            io::ErrorKind::IsADirectory => Errno::IsDir,
            io::ErrorKind::DirectoryNotEmpty => Errno::NotEmpty,
            io::ErrorKind::WouldBlock => Errno::Again,
            io::ErrorKind::Interrupted => Errno::Intr,
            io::ErrorKind::BrokenPipe => Errno::Pipe,
            _ => Errno::Io,
        }
    }
}

impl From<rustix::io::Errno> for Errno {
    fn from(err: rustix::io::Errno) -> Errno {
        Errno::from_host(err.raw_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_errors_map_to_their_wasi_numbers() {
        assert_eq!(Errno::from_host(libc::ENOENT) as u16, 44);
        assert_eq!(Errno::from_host(libc::EBADF) as u16, 8);
        assert_eq!(Errno::from_host(libc::ENOTEMPTY) as u16, 55);
        assert_eq!(Errno::from_host(libc::ELOOP) as u16, 32);
        assert_eq!(Errno::from_host(libc::EXDEV) as u16, 75);
        let escape = io::Error::new(io::ErrorKind::PermissionDenied, "outside");
        assert_eq!(Errno::from(escape) as u16, 76);
    }
}
