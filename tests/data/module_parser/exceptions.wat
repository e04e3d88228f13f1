;; Exception handling (WABT 1.0.32's encoding): tag section, try, catch,
;; catch_all, throw, rethrow, delegate.
(module
  (tag $e (param i32))
  (func $thrower (param i32) local.get 0 throw $e)
  (func (export "run") (result i32)
    try (result i32)
      i32.const 1
      call $thrower
      i32.const 0
    catch $e
    catch_all
      try
        i32.const 2
        call $thrower
      delegate 0
      i32.const 3
    end)
  (func (export "again")
    try
      nop
    catch_all
      rethrow 0
    end))
