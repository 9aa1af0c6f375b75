import { useState } from "react";
import type { ComponentType } from "react";
import { nodeSpec } from "../model/catalog";
import { DeriveForm } from "./DeriveForm";
import { FileSinkForm } from "./FileSinkForm";
import { FileSourceForm } from "./FileSourceForm";
import { FilterForm } from "./FilterForm";
import { JsonConfigForm } from "./JsonConfigForm";
import { SelectForm } from "./SelectForm";
import type { ConfigFormProps } from "./types";

const FORMS: Partial<Record<string, ComponentType<ConfigFormProps>>> = {
  "source.file": FileSourceForm,
  "transform.filter": FilterForm,
  "transform.select": SelectForm,
  "transform.derive": DeriveForm,
  "sink.file": FileSinkForm,
};

/** The node type's form, or a JSON editor; form-backed types can switch to JSON too. */
export function ConfigForm({ nodeType, ...props }: ConfigFormProps & { nodeType: string }) {
  const [asJson, setAsJson] = useState(false);
  const Form = FORMS[nodeType];
  const hint = nodeSpec(nodeType)?.keys;
  if (!Form) return <JsonConfigForm {...props} hint={hint} />;
  return (
    <div>
      <label className="checkbox-field small">
        <input type="checkbox" checked={asJson} onChange={(e) => setAsJson(e.target.checked)} />
        Edit as JSON
      </label>
      {asJson ? <JsonConfigForm {...props} hint={hint} /> : <Form {...props} />}
    </div>
  );
}
