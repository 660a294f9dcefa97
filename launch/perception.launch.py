"""Perception graph: [weather_node ->] segmentation_node, parameters from config/perception.yaml.

    ros2 launch rain_seg_ros perception.launch.py model:=/models/segformer.onnx camera_topic:=/cam/image_raw
    ros2 launch rain_seg_ros perception.launch.py model:=m.onnx enable_weather:=true weather_mode:=derain

Thin on purpose: it only declares arguments, sets the FastDDS profile variables
(rain_seg_ros.dds_env) and wires executables and params; everything else lives in the nodes.
`rain_seg_bringup --params config/perception.yaml` starts the same graph without launch tooling.
"""

from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription
from rain_seg_ros.dds_env import dds_profile_env

ARGUMENTS = {
    "camera_topic": ("image", "Camera image topic (raw; /compressed is appended when compressed:=true)."),
    "compressed": ("false", "Subscribe <camera_topic>/compressed (sensor_msgs/CompressedImage)."),
    "model": ("", "Exported segmentation model (.onnx/.pt2/.engine + .json sidecar); sets model_path."),
    "backend": ("auto", "Inference backend: auto, onnxruntime, torch or tensorrt; sets backend."),
    "trust_pt2_model": ("false", "true lets segmentation_node load a .pt2 model (a PyTorch program that "
                        "can run code when loaded): only for files you trust; sets trust_pt2_model."),
    "enable_weather": ("false", "Run weather_node in front of segmentation_node."),
    "weather_mode": ("passthrough", "weather_node mode: passthrough, derain or rainify."),
    "weather_model": ("", "DSANet encoder export for weather_node (derain/rainify); sets its model_path."),
    "namespace": ("", "Namespace for both nodes."),
    "params_file": (PathJoinSubstitution([FindPackageShare("rain_seg_ros"), "config", "perception.yaml"]),
                    "ROS params YAML for both nodes."),
}


def generate_launch_description() -> LaunchDescription:
    arg = {name: LaunchConfiguration(name) for name in ARGUMENTS}
    weather = IfCondition(arg["enable_weather"])
    compressed_in = PythonExpression(["'/compressed' if '", arg["compressed"], "'.lower() == 'true' else ''"])
    camera = [arg["camera_topic"], compressed_in]
    # value_type=str: an empty model stays "" (YAML would read it as null)
    seg_params = [arg["params_file"], {"backend": ParameterValue(arg["backend"], value_type=str),
                                       "trust_pt2_model": ParameterValue(arg["trust_pt2_model"],
                                                                         value_type=bool)}]
    model_override = [{"model_path": ParameterValue(arg["model"], value_type=str)}]

    weather_node = Node(
        package="rain_seg_ros", executable="weather_node", name="weather_node", namespace=arg["namespace"],
        condition=weather, output="screen",
        parameters=[arg["params_file"], {"mode": arg["weather_mode"], "compressed_input": arg["compressed"],
                                         "model_path": ParameterValue(arg["weather_model"], value_type=str)}],
        remappings=[(["image", compressed_in], camera)])
    # Behind weather_node the segmenter reads its raw ~/image; otherwise the camera directly.
    seg_after_weather = Node(
        package="rain_seg_ros", executable="segmentation_node", name="segmentation_node",
        namespace=arg["namespace"], condition=weather, output="screen",
        parameters=[*seg_params, {"compressed_input": False}, *model_override],
        remappings=[("image", "weather_node/image")])
    seg_on_camera = Node(
        package="rain_seg_ros", executable="segmentation_node", name="segmentation_node",
        namespace=arg["namespace"], condition=UnlessCondition(arg["enable_weather"]), output="screen",
        parameters=[*seg_params, {"compressed_input": arg["compressed"]}, *model_override],
        remappings=[(["image", compressed_in], camera)])

    declared = [DeclareLaunchArgument(name, default_value=default, description=text)
                for name, (default, text) in ARGUMENTS.items()]
    # FastDDS's default 512 KiB shared-memory segment drops large camera frames: the nodes get
    # the shipped 64 MiB profile, or the user's own if FASTDDS_/FASTRTPS_DEFAULT_PROFILES_FILE
    # is set (rain_seg_ros/dds_env.py; docs/ros.md, Transport).
    dds_profile = [SetEnvironmentVariable(name, value) for name, value in dds_profile_env().items()]
    return LaunchDescription([*declared, *dds_profile, weather_node, seg_after_weather, seg_on_camera])
