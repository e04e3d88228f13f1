// The WASI preview1 ABI as the guest sees it: errno values, rights, flags
// and the byte layout of the structs exchanged through guest memory. Values
// come from wasi-libc's <wasi/api.h> (which only compiles for wasm32, hence
// this copy). Struct fields are written at these offsets, little-endian.
#pragma once

#include <cstdint>

namespace samepage::wasi {

using Errno = uint16_t;

// errno (wasi/api.h __WASI_ERRNO_*).
constexpr Errno
    kErrnoSuccess = 0, kErrno2big = 1, kErrnoAcces = 2, kErrnoAddrinuse = 3,
    kErrnoAddrnotavail = 4, kErrnoAfnosupport = 5, kErrnoAgain = 6, kErrnoAlready = 7,
    kErrnoBadf = 8, kErrnoBadmsg = 9, kErrnoBusy = 10, kErrnoCanceled = 11,
    kErrnoChild = 12, kErrnoConnaborted = 13, kErrnoConnrefused = 14, kErrnoConnreset = 15,
    kErrnoDeadlk = 16, kErrnoDestaddrreq = 17, kErrnoDom = 18, kErrnoDquot = 19,
    kErrnoExist = 20, kErrnoFault = 21, kErrnoFbig = 22, kErrnoHostunreach = 23,
    kErrnoIdrm = 24, kErrnoIlseq = 25, kErrnoInprogress = 26, kErrnoIntr = 27,
    kErrnoInval = 28, kErrnoIo = 29, kErrnoIsconn = 30, kErrnoIsdir = 31,
    kErrnoLoop = 32, kErrnoMfile = 33, kErrnoMlink = 34, kErrnoMsgsize = 35,
    kErrnoMultihop = 36, kErrnoNametoolong = 37, kErrnoNetdown = 38, kErrnoNetreset = 39,
    kErrnoNetunreach = 40, kErrnoNfile = 41, kErrnoNobufs = 42, kErrnoNodev = 43,
    kErrnoNoent = 44, kErrnoNoexec = 45, kErrnoNolck = 46, kErrnoNolink = 47,
    kErrnoNomem = 48, kErrnoNomsg = 49, kErrnoNoprotoopt = 50, kErrnoNospc = 51,
    kErrnoNosys = 52, kErrnoNotconn = 53, kErrnoNotdir = 54, kErrnoNotempty = 55,
    kErrnoNotrecoverable = 56, kErrnoNotsock = 57, kErrnoNotsup = 58, kErrnoNotty = 59,
    kErrnoNxio = 60, kErrnoOverflow = 61, kErrnoOwnerdead = 62, kErrnoPerm = 63,
    kErrnoPipe = 64, kErrnoProto = 65, kErrnoProtonosupport = 66, kErrnoPrototype = 67,
    kErrnoRange = 68, kErrnoRofs = 69, kErrnoSpipe = 70, kErrnoSrch = 71,
    kErrnoStale = 72, kErrnoTimedout = 73, kErrnoTxtbsy = 74, kErrnoXdev = 75,
    kErrnoNotcapable = 76;

// rights (__WASI_RIGHTS_*).
constexpr uint64_t
    kRightFdDatasync = 1ull << 0, kRightFdRead = 1ull << 1, kRightFdSeek = 1ull << 2,
    kRightFdFdstatSetFlags = 1ull << 3, kRightFdSync = 1ull << 4, kRightFdTell = 1ull << 5,
    kRightFdWrite = 1ull << 6, kRightFdAdvise = 1ull << 7, kRightFdAllocate = 1ull << 8,
    kRightPathCreateDirectory = 1ull << 9, kRightPathCreateFile = 1ull << 10,
    kRightPathLinkSource = 1ull << 11, kRightPathLinkTarget = 1ull << 12,
    kRightPathOpen = 1ull << 13, kRightFdReaddir = 1ull << 14, kRightPathReadlink = 1ull << 15,
    kRightPathRenameSource = 1ull << 16, kRightPathRenameTarget = 1ull << 17,
    kRightPathFilestatGet = 1ull << 18, kRightPathFilestatSetSize = 1ull << 19,
    kRightPathFilestatSetTimes = 1ull << 20, kRightFdFilestatGet = 1ull << 21,
    kRightFdFilestatSetSize = 1ull << 22, kRightFdFilestatSetTimes = 1ull << 23,
    kRightPathSymlink = 1ull << 24, kRightPathRemoveDirectory = 1ull << 25,
    kRightPathUnlinkFile = 1ull << 26, kRightPollFdReadwrite = 1ull << 27,
    kRightSockShutdown = 1ull << 28, kRightSockAccept = 1ull << 29;

// Rights that make sense per kind of descriptor. A descriptor never holds
// rights outside its kind's set ("fewer rights if they do not apply").
constexpr uint64_t kRightsFile =
    kRightFdDatasync | kRightFdRead | kRightFdSeek | kRightFdFdstatSetFlags | kRightFdSync |
    kRightFdTell | kRightFdWrite | kRightFdAdvise | kRightFdAllocate | kRightFdFilestatGet |
    kRightFdFilestatSetSize | kRightFdFilestatSetTimes | kRightPollFdReadwrite;
constexpr uint64_t kRightsDirectory =
    kRightFdFdstatSetFlags | kRightFdSync | kRightFdAdvise | kRightPathCreateDirectory |
    kRightPathCreateFile | kRightPathLinkSource | kRightPathLinkTarget | kRightPathOpen |
    kRightFdReaddir | kRightPathReadlink | kRightPathRenameSource | kRightPathRenameTarget |
    kRightPathFilestatGet | kRightPathFilestatSetSize | kRightPathFilestatSetTimes |
    kRightFdFilestatGet | kRightFdFilestatSetTimes | kRightPathSymlink |
    kRightPathRemoveDirectory | kRightPathUnlinkFile | kRightPollFdReadwrite;
// Rights that change the file system. Descriptors under a read-only preopen
// never hold them (DESIGN.md §6: read-only unless granted).
// Link source is one of them: a hard link made elsewhere would make the file
// writable through a writable preopen.
constexpr uint64_t kRightsMutating =
    kRightFdWrite | kRightFdAllocate | kRightPathCreateDirectory |
    kRightPathCreateFile | kRightPathLinkSource | kRightPathLinkTarget |
    kRightPathRenameSource | kRightPathRenameTarget | kRightPathFilestatSetSize |
    kRightPathFilestatSetTimes | kRightFdFilestatSetSize | kRightFdFilestatSetTimes |
    kRightPathSymlink | kRightPathRemoveDirectory | kRightPathUnlinkFile;
// Rights whose request means "open for writing" in path_open.
constexpr uint64_t kRightsWriteIntent =
    kRightFdWrite | kRightFdAllocate | kRightFdFilestatSetSize;
constexpr uint64_t kRightsAll = kRightsFile | kRightsDirectory;

// filetype (__WASI_FILETYPE_*).
constexpr uint8_t
    kFiletypeUnknown = 0, kFiletypeBlockDevice = 1, kFiletypeCharacterDevice = 2,
    kFiletypeDirectory = 3, kFiletypeRegularFile = 4, kFiletypeSocketDgram = 5,
    kFiletypeSocketStream = 6, kFiletypeSymbolicLink = 7;

constexpr uint32_t  // clockid
    kClockRealtime = 0, kClockMonotonic = 1, kClockProcessCputime = 2, kClockThreadCputime = 3;
constexpr uint8_t kWhenceSet = 0, kWhenceCur = 1, kWhenceEnd = 2;
constexpr uint16_t  // fdflags
    kFdflagAppend = 1 << 0, kFdflagDsync = 1 << 1, kFdflagNonblock = 1 << 2,
    kFdflagRsync = 1 << 3, kFdflagSync = 1 << 4;
constexpr uint16_t  // fstflags
    kFstflagAtim = 1 << 0, kFstflagAtimNow = 1 << 1, kFstflagMtim = 1 << 2, kFstflagMtimNow = 1 << 3;
constexpr uint32_t kLookupSymlinkFollow = 1 << 0;
constexpr uint16_t  // oflags
    kOflagCreat = 1 << 0, kOflagDirectory = 1 << 1, kOflagExcl = 1 << 2, kOflagTrunc = 1 << 3;
constexpr uint8_t kEventtypeClock = 0, kEventtypeFdRead = 1, kEventtypeFdWrite = 2;
constexpr uint16_t kEventrwflagHangup = 1 << 0;
constexpr uint16_t kSubclockflagAbstime = 1 << 0;
constexpr uint8_t kPreopentypeDir = 0;
constexpr uint8_t  // advice
    kAdviceNormal = 0, kAdviceSequential = 1, kAdviceRandom = 2, kAdviceWillneed = 3,
    kAdviceDontneed = 4, kAdviceNoreuse = 5;

// Struct sizes and field offsets (the _Static_asserts of wasi/api.h).
namespace layout {
constexpr uint32_t kIovecSize = 8;          // buf u32 @0, buf_len u32 @4
constexpr uint32_t kPrestatSize = 8;        // tag u8 @0, pr_name_len u32 @4
constexpr uint32_t kFdstatSize = 24;        // filetype u8 @0, flags u16 @2, base u64 @8, inheriting u64 @16
constexpr uint32_t kFilestatSize = 64;      // dev @0 ino @8 filetype u8 @16 nlink @24 size @32 atim @40 mtim @48 ctim @56
constexpr uint32_t kDirentSize = 24;        // d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20
constexpr uint32_t kSubscriptionSize = 48;  // userdata u64 @0, tag u8 @8, union @16
constexpr uint32_t kEventSize = 32;         // userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24
}  // namespace layout

}  // namespace samepage::wasi
