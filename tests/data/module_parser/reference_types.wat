;; Reference types: externref values, ref.null/is_null/func, typed select,
;; table.get/set/grow/size/fill, two tables and a declarative element segment.
(module
  (table $funcs 2 funcref)
  (table $externs 2 externref)
  (elem declare func $f)
  (func $f (param $x externref) (result i32)
    local.get $x
    ref.is_null
    ref.func $f
    i32.const 0
    ref.null extern
    local.get $x
    i32.const 1
    select (result externref)
    table.set $externs
    drop
    i32.const 0
    table.get $externs
    i32.const 1
    table.grow $externs
    drop
    i32.const 0
    ref.null func
    i32.const 1
    table.fill $funcs
    table.size $funcs
    i32.add)
  (export "f" (func $f)))
