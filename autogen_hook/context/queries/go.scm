; Tags for the repo map (see python.scm for the capture names).

(source_file (function_declaration name: (identifier) @name) @definition.function)
(source_file (method_declaration name: (field_identifier) @name) @definition.method)
(source_file (type_declaration (type_spec name: (type_identifier) @name)) @definition.type)
(source_file (const_declaration (const_spec name: (identifier) @name)) @definition.constant)
(source_file (var_declaration (var_spec name: (identifier) @name)) @definition.constant)
