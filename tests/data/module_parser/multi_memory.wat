;; Two memories; the load names the second one (memarg alignment bit 6 plus
;; a memory index).
(module
  (memory $a 1)
  (memory $b 2)
  (data (memory $b) (i32.const 0) "x")
  (func (export "load") (result i32)
    i32.const 0
    i32.load $b offset=4
    memory.size $b
    i32.add))
