;; A 64-bit memory: limits and load offsets are u64.
(module
  (memory i64 1 65537)
  (func (export "load") (result i32)
    i64.const 0
    i32.load offset=0xffffffff))
