; Tags for the repo map (see python.scm for the capture names). Also used for TSX.

(program (function_declaration name: (identifier) @name) @definition.function)
(program (class_declaration name: (type_identifier) @name) @definition.class)
(program (abstract_class_declaration name: (type_identifier) @name) @definition.class)
(program (interface_declaration name: (type_identifier) @name) @definition.interface)
(program (type_alias_declaration name: (type_identifier) @name) @definition.type)
(program (enum_declaration name: (identifier) @name) @definition.enum)
(program (lexical_declaration (variable_declarator name: (identifier) @name)) @definition.constant)
(program (export_statement declaration: (function_declaration name: (identifier) @name)) @definition.function)
(program (export_statement declaration: (class_declaration name: (type_identifier) @name)) @definition.class)
(program (export_statement declaration: (abstract_class_declaration name: (type_identifier) @name)) @definition.class)
(program (export_statement declaration: (interface_declaration name: (type_identifier) @name)) @definition.interface)
(program (export_statement declaration: (type_alias_declaration name: (type_identifier) @name)) @definition.type)
(program (export_statement declaration: (enum_declaration name: (identifier) @name)) @definition.enum)
(program (export_statement declaration: (lexical_declaration (variable_declarator name: (identifier) @name))) @definition.constant)

(call_expression function: (identifier) @reference)
(call_expression function: (member_expression property: (property_identifier) @reference))
(new_expression constructor: (identifier) @reference)
(type_identifier) @reference
(arguments (identifier) @reference)
(import_specifier name: (identifier) @reference)
