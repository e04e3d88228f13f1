;; Bulk memory: passive data, datacount, memory.init/copy/fill, data.drop,
;; table.init/copy, elem.drop.
(module
  (memory 1)
  (table 4 funcref)
  (data $d "abcdef")
  (elem $e func $f)
  (func $f
    i32.const 0
    i32.const 2
    i32.const 3
    memory.init $d
    data.drop $d
    i32.const 8
    i32.const 0
    i32.const 3
    memory.copy
    i32.const 16
    i32.const 255
    i32.const 4
    memory.fill
    i32.const 0
    i32.const 0
    i32.const 1
    table.init $e
    elem.drop $e
    i32.const 1
    i32.const 0
    i32.const 1
    table.copy)
  (export "f" (func $f)))
