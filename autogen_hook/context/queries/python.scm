; Tags for the repo map: the top-level definitions of a file. @definition.<kind>
; is the whole definition (decorators included) and @name its name. Every
; pattern is anchored at the root node: the index runs the query with a maximum
; start depth of 0, so it never walks the whole tree. (References are counted
; lexically, see _index.py.)

(module (class_definition name: (identifier) @name) @definition.class)
(module (function_definition name: (identifier) @name) @definition.function)
(module
  (decorated_definition
    definition: (class_definition name: (identifier) @name)) @definition.class)
(module
  (decorated_definition
    definition: (function_definition name: (identifier) @name)) @definition.function)
(module (expression_statement (assignment left: (identifier) @name)) @definition.constant)
