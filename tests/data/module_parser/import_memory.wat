;; The memory comes from the host: samepage guests must define their own.
(module
  (import "env" "memory" (memory 1))
  (func (export "size") (result i32) memory.size))
