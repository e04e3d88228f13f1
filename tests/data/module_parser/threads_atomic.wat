;; Atomic instructions on an unshared memory, with every immediate shape:
;; wait/notify, fence (reserved byte), loads, stores, rmw and cmpxchg.
(module
  (memory 1)
  (func (export "atomics") (result i32)
    i32.const 0
    i32.const 1
    i32.atomic.rmw.add offset=8
    i32.const 0
    i64.const 1
    i64.const 2
    i64.atomic.rmw32.cmpxchg_u
    i32.wrap_i64
    i32.add
    i32.const 0
    i32.const 5
    i32.atomic.store8
    i32.const 0
    i32.const 1
    memory.atomic.notify
    i32.add
    i32.const 0
    i32.const 0
    i64.const -1
    memory.atomic.wait32
    i32.add
    atomic.fence
    i32.const 4
    i32.atomic.load16_u
    i32.add))
