; Tags for the repo map. @definition.<kind> is a whole top-level definition and
; @name its name; @reference is a name the file uses in a way that points at a
; definition elsewhere (called, used as a type, passed, inherited, imported).

(module (class_definition name: (identifier) @name) @definition.class)
(module (function_definition name: (identifier) @name) @definition.function)
(module
  (decorated_definition
    definition: (class_definition name: (identifier) @name)) @definition.class)
(module
  (decorated_definition
    definition: (function_definition name: (identifier) @name)) @definition.function)
(module (expression_statement (assignment left: (identifier) @name)) @definition.constant)

(call function: (identifier) @reference)
(call function: (attribute attribute: (identifier) @reference))
(type (identifier) @reference)
(type (attribute attribute: (identifier) @reference))
(type (binary_operator [(identifier) (attribute attribute: (identifier))] @reference))
(generic_type (identifier) @reference)
(argument_list (identifier) @reference)
(keyword_argument value: (identifier) @reference)
(class_definition superclasses: (argument_list (attribute attribute: (identifier) @reference)))
(decorator (identifier) @reference)
(assignment right: (identifier) @reference)
(import_from_statement name: (dotted_name (identifier) @reference))
(import_from_statement name: (aliased_import name: (dotted_name (identifier) @reference)))
