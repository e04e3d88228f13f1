#include "wasi/wasi_errno.h"

#include <cerrno>

namespace samepage::wasi {

Errno errno_from_host(int host_errno) {
  switch (host_errno) {
    case 0: return kErrnoSuccess;
    case E2BIG: return kErrno2big;
    case EACCES: return kErrnoAcces;
    case EADDRINUSE: return kErrnoAddrinuse;
    case EADDRNOTAVAIL: return kErrnoAddrnotavail;
    case EAFNOSUPPORT: return kErrnoAfnosupport;
    case EAGAIN: return kErrnoAgain;  // == EWOULDBLOCK on Linux
    case EALREADY: return kErrnoAlready;
    case EBADF: return kErrnoBadf;
    case EBADMSG: return kErrnoBadmsg;
    case EBUSY: return kErrnoBusy;
    case ECANCELED: return kErrnoCanceled;
    case ECHILD: return kErrnoChild;
    case ECONNABORTED: return kErrnoConnaborted;
    case ECONNREFUSED: return kErrnoConnrefused;
    case ECONNRESET: return kErrnoConnreset;
    case EDEADLK: return kErrnoDeadlk;  // == EDEADLOCK on Linux
    case EDESTADDRREQ: return kErrnoDestaddrreq;
    case EDOM: return kErrnoDom;
    case EDQUOT: return kErrnoDquot;
    case EEXIST: return kErrnoExist;
    case EFAULT: return kErrnoFault;
    case EFBIG: return kErrnoFbig;
    case EHOSTUNREACH: return kErrnoHostunreach;
    case EIDRM: return kErrnoIdrm;
    case EILSEQ: return kErrnoIlseq;
    case EINPROGRESS: return kErrnoInprogress;
    case EINTR: return kErrnoIntr;
    case EINVAL: return kErrnoInval;
    case EIO: return kErrnoIo;
    case EISCONN: return kErrnoIsconn;
    case EISDIR: return kErrnoIsdir;
    case ELOOP: return kErrnoLoop;
    case EMFILE: return kErrnoMfile;
    case EMLINK: return kErrnoMlink;
    case EMSGSIZE: return kErrnoMsgsize;
    case EMULTIHOP: return kErrnoMultihop;
    case ENAMETOOLONG: return kErrnoNametoolong;
    case ENETDOWN: return kErrnoNetdown;
    case ENETRESET: return kErrnoNetreset;
    case ENETUNREACH: return kErrnoNetunreach;
    case ENFILE: return kErrnoNfile;
    case ENOBUFS: return kErrnoNobufs;
    case ENODEV: return kErrnoNodev;
    case ENOENT: return kErrnoNoent;
    case ENOEXEC: return kErrnoNoexec;
    case ENOLCK: return kErrnoNolck;
    case ENOLINK: return kErrnoNolink;
    case ENOMEM: return kErrnoNomem;
    case ENOMSG: return kErrnoNomsg;
    case ENOPROTOOPT: return kErrnoNoprotoopt;
    case ENOSPC: return kErrnoNospc;
    case ENOSYS: return kErrnoNosys;
    case ENOTCONN: return kErrnoNotconn;
    case ENOTDIR: return kErrnoNotdir;
    case ENOTEMPTY: return kErrnoNotempty;
    case ENOTRECOVERABLE: return kErrnoNotrecoverable;
    case ENOTSOCK: return kErrnoNotsock;
    case ENOTSUP: return kErrnoNotsup;  // == EOPNOTSUPP on Linux
    case ENOTTY: return kErrnoNotty;
    case ENXIO: return kErrnoNxio;
    case EOVERFLOW: return kErrnoOverflow;
    case EOWNERDEAD: return kErrnoOwnerdead;
    case EPERM: return kErrnoPerm;
    case EPIPE: return kErrnoPipe;
    case EPROTO: return kErrnoProto;
    case EPROTONOSUPPORT: return kErrnoProtonosupport;
    case EPROTOTYPE: return kErrnoPrototype;
    case ERANGE: return kErrnoRange;
    case EROFS: return kErrnoRofs;
    case ESPIPE: return kErrnoSpipe;
    case ESRCH: return kErrnoSrch;
    case ESTALE: return kErrnoStale;
    case ETIMEDOUT: return kErrnoTimedout;
    case ETXTBSY: return kErrnoTxtbsy;
    case EXDEV: return kErrnoXdev;
    // Linux-only codes with a close WASI meaning.
    case ENOTBLK: return kErrnoNotsup;
    case ENODATA: return kErrnoNoent;      // e.g. a missing xattr
    case ENOMEDIUM: return kErrnoNodev;
    case ENOTUNIQ: return kErrnoInval;
    case ENOKEY: return kErrnoNoent;
    case EKEYEXPIRED:
    case EKEYREJECTED:
    case EKEYREVOKED: return kErrnoAcces;
    case ESHUTDOWN: return kErrnoPipe;
    case ETOOMANYREFS: return kErrnoMfile;
    case EHOSTDOWN: return kErrnoHostunreach;
    case EUCLEAN: return kErrnoIo;
    default: return kErrnoIo;
  }
}

Errno last_errno() { return errno_from_host(errno); }

}  // namespace samepage::wasi
