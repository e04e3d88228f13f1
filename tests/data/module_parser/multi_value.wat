;; Multi-value: two results, and a block whose type is a type index.
(module
  (func $pair (result i32 i32) i32.const 1 i32.const 2)
  (func (export "sum") (result i32)
    call $pair
    block (param i32 i32) (result i32)
      i32.add
    end))
