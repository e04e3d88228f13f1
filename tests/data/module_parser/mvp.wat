;; A WebAssembly 1.0 module using most MVP instructions and every section
;; that MVP has: the parser must read it exactly and find no features.
(module
  (type $binop (func (param i32 i64) (result i32)))
  (import "env" "log" (func $log (param i32 f64)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "counter" (global $counter (mut i32)))
  (import "env" "base" (global $base i32))
  (memory (export "memory") 2 256)
  (table $t 4 funcref)
  (global $g (mut i64) (i64.const -7))
  (global $h f32 (f32.const 1.5))
  (global $from_import i32 (global.get $base))
  (func $add (export "add") (type $binop)
    local.get 0
    local.get 1
    i32.wrap_i64
    i32.add)
  (func $init
    i32.const 1
    global.set $counter)
  (func $dispatch (export "dispatch") (param $i i32) (result i32) (local $acc i32) (local $d f64)
    block $out
      block $b2
        block $b1
          local.get $i
          br_table $b1 $b2 $out
        end
        i32.const 10
        local.set $acc
        br $out
      end
      i32.const 20
      local.set $acc
    end
    loop $again
      local.get $acc
      i32.const 1
      i32.add
      local.tee $acc
      i32.const 100
      i32.lt_u
      br_if $again
    end
    local.get $i
    if (result i32)
      i32.const 7
      i64.const 0x7fffffffffffffff
      i32.const 0
      call_indirect $t (type $binop)
    else
      i32.const -1
    end
    drop
    f64.const 2.25
    local.set $d
    local.get $acc
    local.get $d
    call $log
    i32.const 16
    i32.load offset=4 align=2
    i32.const 0
    i64.load8_s offset=1000
    i32.wrap_i64
    i32.add
    i32.const 32
    f32.const -0.5
    f32.store offset=8
    memory.size
    i32.add
    i32.const 1
    memory.grow
    drop
    i32.const 5
    i32.const 0
    i32.const 0
    i32.const 0
    i32.const 0
    call $fd_write
    select
    return)
  (func (export "nothing") nop unreachable)
  (export "log" (func $log))
  (start $init)
  (elem (i32.const 0) $add $add)
  (data (i32.const 16) "hello, samepage")
  (export "g" (global $g))
  (export "table" (table $t)))
