;; Tail calls, which this wasm2c cannot translate.
(module
  (type $v (func (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $one)
  (func $one (result i32) i32.const 1)
  (func (export "direct") (result i32) return_call $one)
  (func (export "indirect") (result i32) i32.const 0 return_call_indirect (type $v)))
