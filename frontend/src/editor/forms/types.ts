import type { JsonObject } from "../../api/types";

export interface ConfigFormProps {
  nodeId: string;
  config: JsonObject;
  onChange: (config: JsonObject) => void;
}
