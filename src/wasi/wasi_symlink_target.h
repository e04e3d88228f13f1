// Which symlink targets a guest may create. Following a link is confined by
// RESOLVE_BENEATH anyway; this rule is for host tools that later follow
// links in a writable preopen without that confinement: a link created by a
// guest must not lead them out of the preopen.
#pragma once

#include <string>

#include "wasi/wasi_abi.h"

namespace samepage::wasi {

struct FdEntry;

// kErrnoSuccess when a link holding `target`, created in directory
// `link_dir_fd` (an fd beneath `dir`'s preopen), stays inside that preopen;
// kErrnoNotcapable otherwise. Absolute targets are refused. A relative target
// may climb with leading ".." at most as far as the link's directory lies
// below the preopen root (measured on the real directory, walking ".." up to
// the preopen's identity). A ".." after any other component is refused: that
// component may be (or become) a symlink to a shallower directory, so where
// its ".." leads cannot be known from the text.
Errno check_symlink_target(const std::string& target, int link_dir_fd, const FdEntry& dir);

// The same rule for a link that rename or link(2) gives a new place: when
// `name` in `from_dir_fd` is a symlink, its target must suit `to_dir_fd`,
// else moving a/b/l -> "../../x" up to l would point it out. Other objects
// pass. A directory moved up still carries the links inside it along
// unchecked; for the guest itself, following them stays confined.
Errno check_symlink_move(int from_dir_fd, const std::string& name, int to_dir_fd,
                         const FdEntry& to_dir);

}  // namespace samepage::wasi
